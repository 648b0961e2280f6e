"""Uploaded CSVs: what parses, and the message each broken file gets."""

from __future__ import annotations

import codecs

import numpy as np
import pytest

from hub_models.errors import UserInputError
from hub_models.tables import numeric_block, read_csv


@pytest.mark.parametrize(
    ("content", "columns"),
    [
        (b"a;b;label\n1;2;x\n3;4;y\n", ["a", "b", "label"]),
        (b"a\tb\tlabel\n1\t2\tx\n3\t4\ty\n", ["a", "b", "label"]),
        ("caf\u00e9,b,label\n1,2,x\n3,4,y\n".encode("cp1252"), ["caf\u00e9", "b", "label"]),
        (codecs.BOM_UTF16_LE + "a,b,label\n1,2,x\n3,4,y\n".encode("utf-16-le"), ["a", "b", "label"]),
        (codecs.BOM_UTF8 + b" a , b ,label\n1,2,x\n3,4,y\n", ["a", "b", "label"]),
    ],
    ids=["semicolons", "tabs", "cp1252", "utf16", "bom-and-spaces"],
)
def test_delimiters_and_encodings_parse_to_the_same_table(tmp_path, content, columns):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    table = read_csv(path, max_rows=100)
    assert list(table.frame.columns) == columns
    np.testing.assert_array_equal(numeric_block(table.frame, columns[1:2]), [[2.0], [4.0]])
    assert table.note == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a,b\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text CSV"),
    ],
    ids=["empty", "header-only", "binary"],
)
def test_broken_files_get_a_message_naming_the_problem(tmp_path, content, message):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message):
        read_csv(path, max_rows=100)


def test_no_file_and_a_vanished_file_are_explained(tmp_path):
    with pytest.raises(UserInputError, match="No CSV file"):
        read_csv(None, max_rows=10)
    with pytest.raises(UserInputError, match="upload it again"):
        read_csv(tmp_path / "gone.csv", max_rows=10)


def test_too_many_rows_keeps_a_seeded_sample_and_says_so(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(5000)))
    first, second = (read_csv(path, max_rows=300, seed=7) for _ in range(2))
    assert len(first.frame) == 300
    assert "5,000 rows" in first.note and "300" in first.note
    np.testing.assert_array_equal(first.frame["x"], second.frame["x"])
    assert first.frame["x"].is_monotonic_increasing, "the sample keeps the file's order"
    assert first.frame["x"].iloc[-1] > 2500, "a random sample, not the first rows"


@pytest.mark.parametrize(
    ("cell", "message"),
    [("oops", "row 3 .* holds 'oops'"), ("", "row 3 .* is empty"), ("inf", "row 3 .* holds 'inf'")],
    ids=["text", "gap", "infinity"],
)
def test_numeric_block_names_the_column_and_row_of_a_bad_value(tmp_path, cell, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"a,b\n1,2\n3,{cell}\n5,6\n")
    frame = read_csv(path, max_rows=10).frame
    with pytest.raises(UserInputError, match=f"Column 'b' must hold numbers, but {message}"):
        numeric_block(frame, ["a", "b"])
