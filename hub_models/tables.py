"""Uploaded CSV files, read defensively: size cap, encoding and delimiter sniffing, row cap, numeric checks.

Every problem becomes a ``UserInputError`` that names the file's problem and what to do about it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hub_models.errors import UserInputError, shown

MAX_CSV_MB = float(os.environ.get("XAI_MAX_CSV_MB", "50"))
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")


@dataclass(frozen=True)
class CsvTable:
    """The parsed table and a sentence for the user about anything done to it (blank if nothing)."""

    frame: pd.DataFrame
    note: str = ""


def _encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is zero.
        for encoding, zeros in (("utf-16-le", head[1::2]), ("utf-16-be", head[0::2])):
            if zeros.count(0) >= 0.9 * len(zeros) and _decodes(head[: len(head) // 2 * 2], encoding):
                return encoding
        raise UserInputError(
            "This file is not a text CSV (it contains binary data). Upload a comma-separated text file."
        )
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:
            return "cp1252" if _decodes(head, "cp1252") else "latin-1"
    return "utf-8-sig"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def read_csv(path: str | Path | None, *, max_rows: int, seed: int = 0) -> CsvTable:
    """A header row and data rows; a table over ``max_rows`` rows keeps a seeded random sample of them."""
    if not path:
        raise UserInputError("No CSV file: upload one (a header row, then one row per sample).")
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"The file {path.name!r} is gone from the server: upload it again.")
    size_mb = path.stat().st_size / 1e6
    if size_mb > MAX_CSV_MB:
        raise UserInputError(f"{path.name} is {size_mb:.0f} MB; the limit is {MAX_CSV_MB:.0f} MB. Upload a sample.")
    raw = path.read_bytes()
    if not raw.strip():
        raise UserInputError(f"{path.name} is empty: upload a CSV with a header row and data rows.")
    encoding = _encoding(raw[:SNIFF_BYTES])
    text = raw.decode(encoding, errors="replace")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=_delimiter(text[:SNIFF_BYTES]), skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise UserInputError(f"{path.name} is not a readable CSV: {str(error).strip()[:200]}") from error
    frame.columns = [str(column).strip() for column in frame.columns]
    if frame.empty:
        raise UserInputError(f"{path.name} has a header but no data rows.")
    if len(frame) <= max_rows:
        return CsvTable(frame)
    sample = frame.sample(n=max_rows, random_state=seed).sort_index()
    return CsvTable(
        sample.reset_index(drop=True),
        f"{path.name} has {len(frame):,} rows; this app trains live on a CPU, so it used a random "
        f"{max_rows:,} of them (seed {seed}).",
    )


def numeric_block(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The columns as a float32 rows x columns array; the first non-number, gap or infinity is named."""
    if not columns:
        raise UserInputError("No numeric columns to use: the CSV needs at least one column of numbers.")
    block = np.empty((len(frame), len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            original = frame[column].iloc[row]
            problem = "is empty or NaN" if pd.isna(original) else f"holds {shown(str(original))}"
            if isinstance(original, str) and DECIMAL_COMMA.fullmatch(original.strip()):
                problem += " (a decimal comma: write decimals with a point, e.g. 1.5)"
            raise UserInputError(
                f"Column {shown(column)} must hold numbers, but row {row + 2} (counting the header as row 1) "
                f"{problem}; {int(bad.sum())} of its {len(values)} values are not finite numbers. Fix or remove "
                "those rows, or leave the column out."
            )
        block[:, j] = values
    return block
