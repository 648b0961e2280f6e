"""Series for the LSTM tab: bundled real data loads offline; uploaded CSVs are checked with clear messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hub_models.errors import UserInputError
from hub_models.series import BUNDLED_SERIES, load_labelled, load_series, series_from_csv


@pytest.mark.parametrize("name", list(BUNDLED_SERIES))
def test_bundled_series_load_without_gaps(name):
    series = load_series(name)
    assert series.values.dtype == np.float32 and series.values.shape[1] == 1
    assert np.isfinite(series.values).all() and len(series.times) == len(series.values) >= 144
    assert series.period in (11, 12, 52)


def test_co2_gaps_are_interpolated_and_said_so():
    series = load_series("co2")
    assert len(series.values) == 2284
    assert "59 of its 2284 weekly values are missing" in series.note and "interpolation" in series.note
    assert 310 < series.target.min() < series.target.max() < 380


def test_italy_power_demand_comes_from_sktimes_files():
    labelled = load_labelled("italy_power")
    assert labelled.train_x.shape == (67, 24) and labelled.test_x.shape == (1029, 24)
    assert set(labelled.train_y) == {0, 1} and len(labelled.classes) == 2


def _write(tmp_path, text: str, name: str = "series.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_a_time_column_and_two_numeric_columns(tmp_path):
    days = pd.date_range("2020-01-01", periods=84, freq="D").strftime("%Y-%m-%d")
    rows = "\n".join(f"{day},{i * 0.5},{i % 7}" for i, day in enumerate(days))
    series = series_from_csv(_write(tmp_path, "date,sales,weekday\n" + rows))
    assert series.columns == ["sales", "weekday"] and series.values.shape == (84, 2)
    assert series.times.dtype.kind == "M"


def test_csv_without_a_time_column(tmp_path):
    series = series_from_csv(_write(tmp_path, "level\n" + "\n".join(str(np.sin(i / 3)) for i in range(60))))
    assert series.values.shape == (60, 1) and list(series.times[:3]) == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "time,value\n" + "\n".join(f"{t},{t}" for t in [*range(30), 35, 36]),
            "has a gap in time: row 31 is '29' and row 32 is '35'",
        ),
        ("time,value\n" + "\n".join(f"{t},{t}" for t in [*range(30), 29]), "must increase row by row"),
        ("value\n" + "\n".join(["1.0"] * 20 + ["oops"] + ["2.0"] * 20), "row 22 .* holds 'oops'"),
        ("time,value\n" + "\n".join(f"{t}," if t == 5 else f"{t},{t}" for t in range(40)), "row 7 .* is empty"),
        ("value\n1\n2\n3\n", "has 3 rows; an LSTM needs a longer series"),
        ("date\n2020-01-01\n2020-01-02\n", "has only a time column"),
        ("date,value\n" + "\n".join(f"2020-01-{d:02d},{d}" for d in range(1, 29)) + "\nlater,3", "not a date"),
    ],
)
def test_bad_csvs_get_clear_messages(tmp_path, text, message):
    with pytest.raises(UserInputError, match=message):
        series_from_csv(_write(tmp_path, text))


def test_binary_upload_is_refused(tmp_path):
    path = tmp_path / "series.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(UserInputError, match="not a text CSV"):
        series_from_csv(path)
