"""Tabular classification data for the MLP tab: scikit-learn's bundled sets, or an uploaded CSV with a label column.

Nothing here downloads: scikit-learn's ``load_*`` sets ship inside its wheel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import datasets

from hub_models.errors import UserInputError, shown
from hub_models.tables import numeric_block, read_csv

MAX_ROWS = int(os.environ.get("XAI_MAX_TABLE_ROWS", "20000"))
MAX_FEATURES = 2000
MAX_CLASSES = 50

BUNDLED: dict[str, Callable[..., object]] = {
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast cancer": datasets.load_breast_cancer,
}
DEFAULT_DATASET = "digits"


@dataclass(frozen=True)
class TabularData:
    """Features (rows x columns, float32), integer labels indexing ``class_names``, and a note for the user."""

    name: str
    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    class_names: list[str]
    note: str = ""


def bundled_dataset(name: str) -> TabularData:
    """One of scikit-learn's bundled classification sets, by name."""
    if name not in BUNDLED:
        raise UserInputError(f"Unknown dataset {shown(name)}. Choose one of: {', '.join(BUNDLED)}, or upload a CSV.")
    bunch = BUNDLED[name]()
    return TabularData(
        name=name,
        features=np.asarray(bunch.data, dtype=np.float32),
        labels=np.asarray(bunch.target, dtype=np.int64),
        feature_names=[str(f) for f in bunch.feature_names],
        class_names=[str(c) for c in bunch.target_names],
    )


def csv_columns(path: str | None) -> list[str]:
    """The columns of an uploaded CSV, for the label dropdown (the last column is the usual label)."""
    return list(read_csv(path, max_rows=MAX_ROWS).frame.columns)


def csv_dataset(path: str | None, label_column: str | None) -> TabularData:
    """An uploaded CSV: ``label_column`` holds the classes, every other column must be numeric."""
    table = read_csv(path, max_rows=MAX_ROWS)
    frame = table.frame
    if not label_column:
        raise UserInputError("Choose the label column (the one that holds each row's class).")
    if label_column not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        columns = columns if len(columns) <= 300 else f"{columns[:297]}... ({len(frame.columns):,} columns)"
        headless = bool(pd.to_numeric(pd.Series(frame.columns), errors="coerce").notna().all())
        hint = (
            " Its first row looks like data, not a header: add a header row that names the columns." if headless else ""
        )
        raise UserInputError(f"The CSV has no column {shown(label_column)}. Its columns: {columns}.{hint}")
    feature_names = [c for c in frame.columns if c != label_column]
    if len(feature_names) > MAX_FEATURES:
        raise UserInputError(f"The CSV has {len(feature_names)} feature columns; the limit is {MAX_FEATURES}.")
    labels = frame[label_column]
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    if missing.any():
        first = int(np.argmax(missing.to_numpy())) + 2
        raise UserInputError(
            f"{int(missing.sum())} rows have no label in column {shown(label_column)} (the first is row {first}, "
            "counting the header as row 1). Fill them in or remove those rows."
        )
    codes, class_names = _encode_labels(labels, label_column)
    return TabularData(
        name=f"{os.path.basename(str(path))} (label: {label_column})",
        features=numeric_block(frame, feature_names),
        labels=codes,
        feature_names=feature_names,
        class_names=class_names,
        note=table.note,
    )


def _encode_labels(labels: pd.Series, column: str) -> tuple[np.ndarray, list[str]]:
    """Class indices and names (sorted); one class, too many classes or singleton classes are refused."""
    names, codes = np.unique(labels.astype(str).str.strip().to_numpy(), return_inverse=True)
    if len(names) < 2:
        raise UserInputError(
            f"Column {shown(column)} holds one class only ({shown(names[0])}): a classifier needs at least two. "
            "Pick another label column or add rows of other classes."
        )
    if len(names) > MAX_CLASSES:
        raise UserInputError(
            f"Column {shown(column)} has {len(names)} distinct values; the limit is {MAX_CLASSES} classes. "
            "Is it a measurement rather than a class label? Pick the column that holds the classes."
        )
    counts = np.bincount(codes)
    if counts.min() < 2:
        rare = ", ".join(shown(str(n)) for n in names[counts < 2][:5])
        raise UserInputError(
            f"Classes {rare} in column {shown(column)} have a single row; every class needs at least two "
            "(one to train on, one to validate on). Remove those rows or add more."
        )
    return codes.astype(np.int64), [str(n) for n in names]
