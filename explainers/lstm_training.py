"""Train an LSTM live on a series (forecast the next value) or on labelled sequences (classify), and keep its gates.

Forecast windows are made relative to their last value (inputs and target minus that value, then scaled), so the
network learns the shape of the next step rather than a level: a trending series (CO2) stays inside the range it
was trained on, and predicting 0 is exactly the naive last-value forecast the metrics compare against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from explainers import training
from explainers.base import Param, ProgressFn
from explainers.limits import check_predicted_seconds
from explainers.lstm_gates import Gates, lstm_gates, memory_summary
from explainers.runtime import torch_threads
from explainers.training import LossFn, TrainingSettings, fit
from explainers.training_cost import FRAME_SECONDS, training_seconds
from hub_models.errors import UserInputError, shown
from hub_models.series import (
    DEFAULT_SERIES,
    LABELLED_SETS,
    SERIES_TITLES,
    LabelledSequences,
    Series,
    load_labelled,
    load_series,
    series_from_csv,
)

TASKS = {"forecast": "Forecast the next value", "classify": "Classify sequences"}
VALIDATION_FRACTION = 0.2
MIN_TRAIN_WINDOWS = 16
MAX_WINDOW_VALUES = 20_000_000
"""The sliding windows of a forecast (windows x steps x columns) are held in memory several times over: a wide
uploaded series with a long window would need gigabytes (5,000 rows x 300 columns x 256 steps: 380 million values).
The largest single-column run (5,000 rows, a window of 256) is 1.3 million."""
PROBE_SEQUENCES = 256
"""Validation sequences whose mean forget gate is recorded after every epoch."""
PARAMS = (
    Param("hidden_size", int, 16, 16, 1, 128, help="Hidden units per layer: the rows of the gate heatmaps."),
    Param("layers", int, 1, 1, 1, 3, help="Stacked LSTM layers (the animation shows the top one)."),
    Param("window", int, 52, 52, 4, 256, help="Steps read before each forecast; one animation frame each."),
    Param("epochs", int, 8, 8, 1, 100, help="Passes over the training windows."),
    Param("learning_rate", float, 0.01, 0.01, 1e-4, 0.1, help="Adam's step size."),
    Param("seed", int, 0, 0, 0, 2**31 - 1, help="Random seed: initial weights and shuffling."),
)


@dataclass(frozen=True)
class LstmSettings:
    """The model and its training; the defaults finish in seconds on a 2-core CPU (weekly CO2)."""

    hidden_size: int = 16
    layers: int = 1
    window: int = 52
    epochs: int = 8
    learning_rate: float = 0.01
    seed: int = 0
    batch_size: int = 64

    def __post_init__(self) -> None:
        for param in PARAMS:
            object.__setattr__(self, param.name, param.check(getattr(self, param.name), "LSTM"))


class SequenceModel(nn.Module):
    """An ``nn.LSTM`` read at its last step by a linear head: one value (forecast) or one score per class."""

    def __init__(self, features: int, hidden_size: int, layers: int, outputs: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden_size, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden_size, outputs)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self.head(self.lstm(inputs)[0][:, -1])
        return out.squeeze(1) if out.shape[1] == 1 else out


@dataclass(frozen=True)
class SequenceData:
    """Tensors ready for training, and what turns a window back into the series' own units for display."""

    task: str
    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    window: int
    features: int
    outputs: int
    shown: np.ndarray
    """validation sequences x window: the first column's raw values, as plotted."""
    times: np.ndarray
    """validation sequences x (window + 1): step labels; the last is the forecast's time."""
    truth: np.ndarray
    """the raw next value (forecast) or class index (classify) of each validation sequence."""
    offset: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target_scale: float = 1.0
    classes: list[str] = field(default_factory=list)
    step_name: str = "step"
    period: int | None = None
    name: str = ""
    value_label: str = "value"
    note: str = ""

    def decode(self, outputs: torch.Tensor) -> np.ndarray:
        """Forecasts in the series' units; class probabilities for classification."""
        if self.task == "classify":
            return torch.softmax(outputs, dim=1).numpy()
        return self.offset + outputs.numpy().astype(np.float64) * self.target_scale


def forecast_data(series: Series, window: int) -> SequenceData:
    """Sliding windows; the last ``VALIDATION_FRACTION`` of the targets (in time) is the validation split."""
    steps = len(series.values)
    split = round(steps * (1 - VALIDATION_FRACTION))
    if split - window < MIN_TRAIN_WINDOWS or steps - split < 4:
        most = split - MIN_TRAIN_WINDOWS
        fix = f"lower the window to {most} or less" if most >= 4 else "upload a longer series"
        raise UserInputError(
            f"{series.name} has {steps} values: too short for a window of {window} (training needs at least "
            f"{MIN_TRAIN_WINDOWS} windows before the last {VALIDATION_FRACTION:.0%} kept for validation). Please {fix}."
        )
    columns = series.values.shape[1]
    size = (steps - window) * window * columns
    if size > MAX_WINDOW_VALUES:
        raise UserInputError(
            f"{series.name}: {steps - window:,} windows of {window} steps x {columns} columns are {size:,} values; "
            f"this server trains on at most {MAX_WINDOW_VALUES:,} (memory). Use a shorter window, fewer columns or "
            "a shorter series."
        )
    index = np.arange(steps - window)[:, None] + np.arange(window)[None, :]
    windows = series.values[index].astype(np.float64)
    last = windows[:, -1:, :]
    relative = windows - last
    next_value = series.target[window:].astype(np.float64)
    change = next_value - last[:, 0, 0]
    train = slice(0, split - window)
    input_scale = relative[train].reshape(-1, relative.shape[2]).std(axis=0) + 1e-8
    target_scale = float(change[train].std() + 1e-8)
    inputs = torch.tensor(relative / input_scale, dtype=torch.float32)
    targets = torch.tensor(change / target_scale, dtype=torch.float32)
    validation = slice(split - window, None)
    return SequenceData(
        task="forecast",
        train=(inputs[train], targets[train]),
        validation=(inputs[validation], targets[validation]),
        window=window,
        features=series.values.shape[1],
        outputs=1,
        shown=windows[validation, :, 0],
        times=series.times[np.arange(steps - window)[:, None] + np.arange(window + 1)[None, :]][validation],
        truth=next_value[validation],
        offset=last[validation, 0, 0],
        target_scale=target_scale,
        step_name=series.step_name,
        period=series.period,
        name=series.name,
        value_label=series.columns[0],
        note=series.note,
    )


def classification_data(labelled: LabelledSequences) -> SequenceData:
    """The set's own train/test split; the window is the sequences' length."""
    length = labelled.train_x.shape[1]
    return SequenceData(
        task="classify",
        train=(torch.tensor(labelled.train_x[:, :, None]), torch.tensor(labelled.train_y)),
        validation=(torch.tensor(labelled.test_x[:, :, None]), torch.tensor(labelled.test_y)),
        window=length,
        features=1,
        outputs=len(labelled.classes),
        shown=labelled.test_x.astype(np.float64),
        times=np.tile(np.arange(length + 1), (len(labelled.test_x), 1)),
        truth=labelled.test_y,
        classes=labelled.classes,
        step_name="hour",
        name=labelled.name,
        value_label=labelled.value_label,
        note=f"{labelled.description} The window is the sequence length, {length} hours.",
    )


def _accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    return {"accuracy": float((outputs.argmax(dim=1) == targets).float().mean())}


@dataclass(frozen=True)
class LstmRun:
    """A trained model, its history, and the exact gates over one validation sequence."""

    data: SequenceData
    settings: LstmSettings
    model: SequenceModel
    history: list[dict[str, float]]
    epoch_forget: np.ndarray
    """(epochs + 1) x layers x hidden: mean forget gate per unit over the probe sequences, after each epoch."""
    sample: int
    gates: Gates
    """layers x 1 x window x hidden: the gates over the animated sequence."""
    prediction: np.ndarray
    """the animated sequence's forecast (a value) or class probabilities."""
    metrics: dict[str, Any]
    summary: str
    seconds: dict[str, float]


def _probe(validation: torch.Tensor) -> torch.Tensor:
    picks = np.linspace(0, len(validation) - 1, min(PROBE_SEQUENCES, len(validation))).round().astype(int)
    return validation[np.unique(picks)]


def _forecast_metrics(data: SequenceData, forecasts: np.ndarray) -> dict[str, float]:
    error, naive_error = forecasts - data.truth, data.offset - data.truth
    mae, naive_mae = float(np.abs(error).mean()), float(np.abs(naive_error).mean())
    return {
        "val_mae": mae,
        "val_rmse": float(np.sqrt((error**2).mean())),
        "naive_last_value_mae": naive_mae,
        "naive_last_value_rmse": float(np.sqrt((naive_error**2).mean())),
        "skill_vs_naive": 1 - mae / naive_mae if naive_mae else 0.0,
    }


def _loss(data: SequenceData) -> LossFn:
    return nn.functional.cross_entropy if data.task == "classify" else nn.functional.mse_loss


def train_lstm(data: SequenceData, settings: LstmSettings, sample: int, progress: ProgressFn | None = None) -> LstmRun:
    """Trains from a seeded initialisation, records the mean forget gate per epoch, extracts one sequence's gates."""
    count = len(data.validation[0])
    if not -count <= sample < count:
        raise UserInputError(f"Sequence {sample} does not exist: the validation split has {count} (0 to {count - 1}).")
    sample %= count
    check_predicted_seconds(lambda: estimate_seconds(data, settings), "This LSTM training")
    with torch_threads(training.TRAINING_THREADS):
        return _train(data, settings, sample, progress)


def _train(data: SequenceData, settings: LstmSettings, sample: int, progress: ProgressFn | None) -> LstmRun:
    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    model = SequenceModel(data.features, settings.hidden_size, settings.layers, data.outputs)
    probe = _probe(data.validation[0])
    epoch_forget: list[np.ndarray] = []

    def record_forget(_: int) -> None:
        epoch_forget.append(lstm_gates(model.lstm, probe).forget.mean(axis=(1, 2)))

    history = fit(
        model,
        _loss(data),
        data.train,
        data.validation,
        TrainingSettings(settings.epochs, settings.batch_size, settings.learning_rate, seed=settings.seed),
        metrics=_accuracy if data.task == "classify" else None,
        on_epoch=record_forget,
        progress=progress,
    )
    trained = time.perf_counter()
    sequence = data.validation[0][sample : sample + 1]
    gates = lstm_gates(model.lstm, sequence)
    with torch.no_grad():
        outputs = model(data.validation[0])
    decoded = data.decode(outputs)
    if data.task == "classify":
        metrics: dict[str, Any] = {"val_accuracy": float((decoded.argmax(axis=1) == data.truth).mean())}
    else:
        metrics = _forecast_metrics(data, decoded)
    extracted = time.perf_counter()
    return LstmRun(
        data=data,
        settings=settings,
        model=model,
        history=history,
        epoch_forget=np.stack(epoch_forget),
        sample=sample,
        gates=gates,
        prediction=decoded[sample],
        metrics=metrics,
        summary=memory_summary(gates.forget[:, 0], data.period, data.step_name),
        seconds={"training": trained - started, "extraction": extracted - trained},
    )


def estimate_seconds(data: SequenceData, settings: LstmSettings) -> float:
    """Training, with the per-epoch evaluation, timed on this machine on this very model (see ``training_cost``),
    plus one frame per window step."""
    torch.manual_seed(settings.seed)
    inputs, targets = data.train
    train_count, val_count = len(inputs), len(data.validation[0])
    seconds = training_seconds(
        SequenceModel(data.features, settings.hidden_size, settings.layers, data.outputs),
        _loss(data),
        inputs[:64],
        targets[:64],
        n_train=train_count,
        n_evaluated=train_count + val_count + min(val_count, PROBE_SEQUENCES),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
    )
    return seconds + data.window * FRAME_SECONDS


CSV_CHOICE = "csv"
"""The series key that means: the uploaded CSV."""


def sequence_data(series: str | None, csv: str | None, task: str | None, window: int) -> SequenceData:
    """The training data the controls describe, or a message saying what does not fit together."""
    task = task or "forecast"
    if task not in TASKS:
        raise UserInputError(f"Unknown task {shown(task)}. Choose one of: {', '.join(TASKS)}.")
    series = series or DEFAULT_SERIES
    if series in LABELLED_SETS:
        if task != "classify":
            raise UserInputError(f"{series} is a set of labelled days, not one series: choose the task 'classify'.")
        return classification_data(load_labelled(series))
    if task == "classify":
        raise UserInputError(
            f"Classification needs a labelled set: choose {', '.join(LABELLED_SETS)}, or forecast this series."
        )
    if series == CSV_CHOICE:
        return forecast_data(series_from_csv(csv), window)
    if series not in SERIES_TITLES:
        choices = ", ".join([*SERIES_TITLES, *LABELLED_SETS, CSV_CHOICE])
        raise UserInputError(f"Unknown series {shown(series)}. Choose one of: {choices}.")
    return forecast_data(load_series(series), window)
