"""Time series for the LSTM tab: real series bundled in registry packages, a labelled set, or an uploaded CSV.

Everything loads offline from files inside installed wheels (statsmodels, pmdarima, sktime). sktime is installed
without its dependencies (its pandas pin clashes with ours) and never imported: its ``.ts`` files are read here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from hub_models.errors import UserInputError, shown
from hub_models.tables import numeric_block, read_csv

MIN_STEPS = 24
"""The shortest series worth training on, windows aside."""
MAX_CSV_STEPS = 5000
"""A longer uploaded series keeps its most recent values: live training on a CPU."""
TIME_COLUMN_NAMES = {"time", "date", "datetime", "timestamp", "month", "week", "year", "day", "period"}


@dataclass(frozen=True)
class Series:
    """Values in time order (steps x columns, float32); the first column is the one forecast.

    ``times`` labels the steps (dates or numbers) for plots; ``period`` is the seasonal cycle in steps, if known.
    """

    name: str
    values: np.ndarray
    columns: list[str]
    times: np.ndarray
    period: int | None = None
    step_name: str = "step"
    note: str = ""

    @property
    def target(self) -> np.ndarray:
        return self.values[:, 0]


@dataclass(frozen=True)
class LabelledSequences:
    """Equal-length sequences with a class each, split as their source splits them."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]
    description: str = ""
    value_label: str = "value"
    note: str = field(default="")


def _co2() -> Series:
    from statsmodels.datasets import co2

    frame = co2.load_pandas().data
    gaps = int(frame["co2"].isna().sum())
    values = frame["co2"].interpolate(method="time").bfill().to_numpy(np.float32)
    return Series(
        "Mauna Loa CO2 (weekly, ppm)",
        values[:, None],
        ["co2 (ppm)"],
        frame.index.to_numpy(),
        period=52,
        step_name="week",
        note=f"{gaps} of its {len(frame)} weekly values are missing in the source; they were filled by linear "
        "interpolation in time.",
    )


def _sunspots() -> Series:
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    return Series(
        "Sunspots (yearly activity)",
        frame["SUNACTIVITY"].to_numpy(np.float32)[:, None],
        ["sunspot activity"],
        frame["YEAR"].to_numpy(np.int64),
        period=11,
        step_name="year",
    )


def _airline() -> Series:
    from pmdarima.datasets import load_airpassengers

    values = load_airpassengers(as_series=True).to_numpy(np.float32)
    months = pd.date_range("1949-01-01", periods=len(values), freq="MS").to_numpy()
    return Series(
        "Airline passengers (monthly, thousands)", values[:, None], ["passengers (thousands)"], months, 12, "month"
    )


BUNDLED_SERIES = {"co2": _co2, "sunspots": _sunspots, "airline": _airline}
SERIES_TITLES = {
    "co2": "Mauna Loa CO2, weekly (statsmodels)",
    "sunspots": "Sunspots, yearly (statsmodels)",
    "airline": "Airline passengers, monthly (pmdarima)",
}
LABELLED_SETS = {"italy_power": "ItalyPowerDemand: winter vs summer days, 24 hourly values (sktime)"}
DEFAULT_SERIES = "co2"


@functools.cache
def load_series(name: str) -> Series:
    """A bundled series by key (``co2``, ``sunspots``, ``airline``)."""
    if name not in BUNDLED_SERIES:
        choices = ", ".join(BUNDLED_SERIES)
        raise UserInputError(f"Unknown series {shown(name)}. Choose one of: {choices}, or upload a CSV.")
    return BUNDLED_SERIES[name]()


def _read_ts(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A univariate, equal-length sktime ``.ts`` file: ``v1,v2,...:label`` per line after ``@data``."""
    rows, labels = [], []
    in_data = False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        values, label = line.rsplit(":", 1)
        rows.append([float(v) for v in values.split(",")])
        labels.append(label)
    return np.asarray(rows, dtype=np.float32), np.asarray(labels)


@functools.cache
def load_labelled(name: str) -> LabelledSequences:
    """A bundled labelled set by key (``italy_power``), from the ``.ts`` files in sktime's wheel."""
    if name not in LABELLED_SETS:
        raise UserInputError(f"Unknown labelled set {shown(name)}. Choose one of: {', '.join(LABELLED_SETS)}.")
    try:
        files = metadata.distribution("sktime")
    except metadata.PackageNotFoundError as error:
        raise UserInputError("The sktime package (which bundles ItalyPowerDemand) is not installed.") from error
    folder = Path(files.locate_file("sktime/datasets/data/ItalyPowerDemand"))
    train_x, train_labels = _read_ts(folder / "ItalyPowerDemand_TRAIN.ts")
    test_x, test_labels = _read_ts(folder / "ItalyPowerDemand_TEST.ts")
    classes = sorted(set(train_labels))
    index = {label: i for i, label in enumerate(classes)}
    return LabelledSequences(
        "ItalyPowerDemand",
        train_x,
        np.array([index[label] for label in train_labels]),
        test_x,
        np.array([index[label] for label in test_labels]),
        ["winter day (Oct-Mar)", "summer day (Apr-Sep)"],
        "24 hourly electricity demand values of one Italian day, z-normalised per day.",
        "demand (z-score)",
    )


def _time_column(frame: pd.DataFrame) -> str | None:
    """The first column named like a time, or holding text that parses as dates."""
    for column in frame.columns:
        if column.lower() in TIME_COLUMN_NAMES:
            return column
    for column in frame.columns:
        if frame[column].dtype == object and pd.to_numeric(frame[column], errors="coerce").isna().all():
            parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed")
            if parsed.notna().mean() > 0.9:
                return column
    return None


def _checked_times(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """The time column as dates (or numbers), in increasing order with one step between rows."""
    raw = frame[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    times = numeric if numeric.notna().all() else pd.to_datetime(raw, errors="coerce", format="mixed")
    if times.isna().any():
        row = int(np.argmax(times.isna().to_numpy()))
        raise UserInputError(
            f"{name}: time column {shown(column)}, row {row + 2} (the header is row 1) holds "
            f"{shown(str(raw.iloc[row]))}, "
            "which is not a date or a number. Fix that row, or remove the time column."
        )
    values = times.to_numpy()
    steps = np.diff(values.astype(np.int64) if values.dtype.kind == "M" else values.astype(np.float64))
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        raise UserInputError(
            f"{name}: time column {column!r} must increase row by row, but row {row + 2} ('{raw.iloc[row]}') "
            f"does not come after row {row + 1} ('{raw.iloc[row - 1]}'). Sort the file by time and remove duplicates."
        )
    # Calendar months and years vary in length: a step within 10 % of the usual one is even.
    uneven = np.abs(steps - np.median(steps)) > np.median(steps) * 0.1 if len(steps) else steps > 0
    if uneven.any():
        row = int(np.argmax(uneven)) + 1
        raise UserInputError(
            f"{name} has a gap in time: row {row + 1} is '{raw.iloc[row - 1]}' and row {row + 2} is "
            f"'{raw.iloc[row]}', while most rows are one step apart. An LSTM needs evenly spaced steps: "
            "fill the missing rows (e.g. interpolate) or upload the series without the gap."
        )
    return values


def series_from_csv(path: str | Path | None) -> Series:
    """An uploaded series: an optional time column and one or more numeric columns (the first one is forecast)."""
    table = read_csv(path, max_rows=10**9)
    name = Path(str(path)).name
    frame = table.frame
    time_column = _time_column(frame)
    columns = [c for c in frame.columns if c != time_column]
    if not columns:
        raise UserInputError(f"{name} has only a time column: add a column of numbers to forecast.")
    values = numeric_block(frame, columns)
    times = _checked_times(frame, time_column, name) if time_column else np.arange(len(frame))
    note = ""
    if len(values) > MAX_CSV_STEPS:
        note = f"{name} has {len(values):,} rows; the most recent {MAX_CSV_STEPS:,} are used (live training on a CPU)."
        values, times = values[-MAX_CSV_STEPS:], times[-MAX_CSV_STEPS:]
    if len(values) < MIN_STEPS:
        raise UserInputError(
            f"{name} has {len(values)} rows; an LSTM needs a longer series (at least {MIN_STEPS} values, and more "
            "than twice the window length). Upload a longer series."
        )
    return Series(name, values, columns, times, note=note)
