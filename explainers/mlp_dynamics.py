"""Training dynamics of a small MLP: train it live and record, every epoch, what each hidden unit does.

Forward hooks on the activation modules record every hidden layer's output for the whole validation set each epoch;
from those come the heatmaps (a fixed, class-sorted subset of samples), the dead units (zero for every validation
sample), the saturated units (stuck at a bound of tanh or sigmoid) and the plain-language reading of the run.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn

from explainers.base import Param, ProgressFn
from explainers.limits import check_predicted_seconds
from explainers.training import TrainingSettings, fit
from explainers.training_cost import training_seconds
from hub_models.errors import UserInputError, shown
from hub_models.hooks import temporary_hooks
from hub_models.tabular import TabularData

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}
BOUNDS = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
"""Activations with bounds a unit can saturate at."""
DEAD_TOLERANCE = 1e-6
SATURATION_MARGIN = 0.03
"""A saturated unit sits within 3% of its activation's range from a bound ..."""
SATURATION_SHARE = 0.95
"""... for at least 95% of the validation samples."""
RECORDED_SAMPLES = 120
MAX_LAYERS = 5
MAX_UNITS = 1024
LOSS_RISE = 0.10
"""Validation loss counts as rising once it ends 10% above its minimum, two or more epochs after it."""

PARAMS: tuple[Param, ...] = (
    Param("hidden_layers", str, "64", "64", help="Units per hidden layer, comma-separated (e.g. 256, 256)."),
    Param("activation", str, "relu", "relu", choices=tuple(ACTIVATIONS), help="Hidden-layer activation."),
    Param("learning_rate", float, 0.003, 0.003, minimum=1e-5, maximum=1.0, help="Adam's step size."),
    Param("epochs", int, 30, 30, minimum=1, maximum=300, help="Passes over the training set (one frame each)."),
    Param("batch_size", int, 32, 32, minimum=1, maximum=4096, help="Samples per optimisation step."),
    Param("weight_decay", float, 0.0, 0.0, minimum=0.0, maximum=1.0, help="L2 penalty: prevents overfitting."),
    Param("dropout", float, 0.0, 0.0, minimum=0.0, maximum=0.9, help="Share of hidden units dropped in training."),
    Param("train_fraction", float, 0.7, 0.7, minimum=0.02, maximum=0.9, help="Share of rows to train on."),
    Param("seed", int, 0, 0, minimum=0, maximum=2**31 - 1, help="Random seed: split, initial weights, shuffling."),
)
PRESETS: dict[str, dict[str, Any]] = {
    "generalises": {"hidden_layers": "64", "weight_decay": 1e-4, "dropout": 0.2, "train_fraction": 0.7, "epochs": 30},
    "overfits": {
        "hidden_layers": "256, 256",
        "weight_decay": 0.0,
        "dropout": 0.0,
        "train_fraction": 0.05,
        "epochs": 60,
    },
}
DEFAULT_PRESET = "generalises"


@dataclass(frozen=True)
class MlpSettings:
    hidden_layers: tuple[int, ...]
    activation: str
    learning_rate: float
    epochs: int
    batch_size: int
    weight_decay: float
    dropout: float
    train_fraction: float
    seed: int


def preset_values(name: str) -> dict[str, Any]:
    """Every parameter's value under a named preset."""
    if name not in PRESETS:
        raise UserInputError(f"Unknown preset {shown(name)}: use one of {', '.join(PRESETS)}.")
    return {p.name: p.default for p in PARAMS} | PRESETS[name]


def settings_from(values: dict[str, Any]) -> MlpSettings:
    """Checked settings from parameter values (missing ones take the default preset's); clear errors otherwise."""
    by_name = {p.name: p for p in PARAMS}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise UserInputError(f"The MLP has no parameter {shown(unknown[0])}. Allowed: {', '.join(by_name)}.")
    merged = preset_values(DEFAULT_PRESET) | values
    checked = {name: by_name[name].check(merged[name], "MLP") for name in by_name}
    checked["hidden_layers"] = _layer_sizes(checked["hidden_layers"])
    return MlpSettings(**checked)


def _layer_sizes(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    if not parts or not all(part.isascii() and part.isdigit() for part in parts):  # "²" is a digit to isdigit()
        raise UserInputError(
            f"Hidden layers must be whole numbers separated by commas, such as '128, 64'; got {shown(text)}."
        )
    sizes = tuple(int(part) if len(part) <= 9 else MAX_UNITS + 1 for part in parts)
    if len(sizes) > MAX_LAYERS or not all(1 <= size <= MAX_UNITS for size in sizes):
        raise UserInputError(f"Use 1 to {MAX_LAYERS} hidden layers of 1 to {MAX_UNITS} units each; got {shown(text)}.")
    return sizes


def build_mlp(n_features: int, n_classes: int, settings: MlpSettings) -> nn.Sequential:
    """Linear -> activation -> dropout per hidden layer, then a linear output; activations are named ``act<i>``."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = n_features
    for index, units in enumerate(settings.hidden_layers, start=1):
        layers[f"linear{index}"] = nn.Linear(width, units)
        layers[f"act{index}"] = ACTIVATIONS[settings.activation]()
        if settings.dropout:
            layers[f"dropout{index}"] = nn.Dropout(settings.dropout)
        width = units
    layers["output"] = nn.Linear(width, n_classes)
    return nn.Sequential(layers)


def activation_modules(model: nn.Sequential) -> list[str]:
    return [name for name, module in model.named_children() if isinstance(module, tuple(ACTIVATIONS.values()))]


@contextmanager
def recorded_outputs(model: nn.Module, names: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """The outputs of the named submodules during the forward passes inside the block; hooks always removed."""
    store: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    with temporary_hooks() as hooks:
        for name in names:
            hooks.forward(modules[name], lambda _m, _i, output, name=name: store.__setitem__(name, output.detach()))
        yield store


def dead_units(activations: np.ndarray) -> np.ndarray:
    """Units (columns) whose output is zero for every sample (row)."""
    return np.all(np.abs(activations) < DEAD_TOLERANCE, axis=0)


def saturated_units(activations: np.ndarray, activation: str) -> np.ndarray:
    """Units stuck at a bound of a bounded activation for nearly every sample; none for unbounded ones."""
    if activation not in BOUNDS:
        return np.zeros(activations.shape[1], dtype=bool)
    low, high = BOUNDS[activation]
    margin = SATURATION_MARGIN * (high - low)
    at_bound = (activations < low + margin) | (activations > high - margin)
    return at_bound.mean(axis=0) >= SATURATION_SHARE


def overfitting_epoch(val_losses: list[float]) -> int | None:
    """The epoch of lowest validation loss if the loss then rose by ``LOSS_RISE`` or more; None otherwise."""
    best = int(np.argmin(val_losses))
    rose = val_losses[-1] > (1 + LOSS_RISE) * val_losses[best] and len(val_losses) - 1 - best >= 2
    return best if rose else None


@dataclass
class Split:
    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    recorded: np.ndarray
    """Indices into the validation set of the samples the heatmaps show, sorted by class."""


def split_data(data: TabularData, settings: MlpSettings) -> Split:
    """Stratified, seeded train/validation split, standardised with the training statistics."""
    n_rows, n_classes = len(data.labels), len(data.class_names)
    n_train = round(n_rows * settings.train_fraction)
    if n_train < n_classes or n_rows - n_train < n_classes:
        raise UserInputError(
            f"A train fraction of {settings.train_fraction:g} leaves {n_train} training and {n_rows - n_train} "
            f"validation rows for {n_classes} classes; each side needs one row per class. Change the fraction."
        )
    x_train, x_val, y_train, y_val = train_test_split(
        data.features, data.labels, train_size=n_train, stratify=data.labels, random_state=settings.seed
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    per_class = max(1, math.ceil(RECORDED_SAMPLES / n_classes))
    recorded = np.concatenate([np.flatnonzero(y_val == c)[:per_class] for c in range(n_classes)])
    as_tensors = lambda x, y: (torch.from_numpy((x - mean) / std).float(), torch.from_numpy(y).long())  # noqa: E731
    return Split(as_tensors(x_train, y_train), as_tensors(x_val, y_val), recorded)


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    return {"accuracy": float((outputs.argmax(dim=1) == targets).float().mean())}


@dataclass
class MlpRun:
    """Everything one training run recorded; arrays are indexed [epoch, sample, unit or class]."""

    dataset: str
    settings: MlpSettings
    class_names: list[str]
    layer_names: list[str]
    history: list[dict[str, float]]
    activations: list[np.ndarray]
    probabilities: np.ndarray
    sample_labels: np.ndarray
    dead: list[np.ndarray]
    saturated: list[np.ndarray]
    n_train: int
    n_validation: int
    seconds: float
    note: str = ""
    overfit_epoch: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.overfit_epoch = overfitting_epoch([record["val_loss"] for record in self.history])

    def metrics(self) -> dict[str, Any]:
        """The JSON-ready record: per-epoch curves and unit counts, the verdict, the settings."""
        return {
            "dataset": self.dataset,
            "settings": asdict(self.settings),
            "n_train": self.n_train,
            "n_validation": self.n_validation,
            "classes": self.class_names,
            "layers": self.layer_names,
            "epochs": [
                record
                | {
                    "dead_units": [int(d[e].sum()) for d in self.dead],
                    "saturated_units": [int(s[e].sum()) for s in self.saturated],
                }
                for e, record in enumerate(self.history)
            ],
            "overfitting_from_epoch": self.overfit_epoch,
            "reading": reading(self),
            "training_seconds": round(self.seconds, 3),
        }


class Recorder:
    """Called after each epoch: runs the validation set through the model with hooks on every activation module and
    keeps the recorded samples' activations and probabilities, and every unit's dead and saturated flags."""

    def __init__(self, model: nn.Sequential, inputs: torch.Tensor, recorded: np.ndarray, activation: str) -> None:
        self.model, self.inputs, self.recorded, self.activation = model, inputs, recorded, activation
        self.names = activation_modules(model)
        self.activations: list[list[np.ndarray]] = [[] for _ in self.names]
        self.dead: list[list[np.ndarray]] = [[] for _ in self.names]
        self.saturated: list[list[np.ndarray]] = [[] for _ in self.names]
        self.probabilities: list[np.ndarray] = []

    def __call__(self, _epoch: int) -> None:
        with torch.no_grad(), recorded_outputs(self.model, self.names) as store:
            self.probabilities.append(torch.softmax(self.model(self.inputs), dim=1)[self.recorded].numpy())
        for index, name in enumerate(self.names):
            layer = store[name].numpy()
            self.activations[index].append(layer[self.recorded])
            self.dead[index].append(dead_units(layer))
            self.saturated[index].append(saturated_units(layer, self.activation))


def train_mlp(data: TabularData, settings: MlpSettings, progress: ProgressFn | None = None) -> MlpRun:
    """Trains the MLP described by ``settings`` on ``data``; records every hidden layer at every epoch."""
    check_predicted_seconds(lambda: estimated_training_seconds(data, settings), "This MLP training")
    split = split_data(data, settings)
    torch.manual_seed(settings.seed)
    model = build_mlp(data.features.shape[1], len(data.class_names), settings)
    recorder = Recorder(model, split.validation[0], split.recorded, settings.activation)
    started = time.perf_counter()
    history = fit(
        model,
        nn.functional.cross_entropy,
        split.train,
        split.validation,
        TrainingSettings(
            settings.epochs, settings.batch_size, settings.learning_rate, settings.weight_decay, settings.seed
        ),
        metrics=accuracy,
        on_epoch=recorder,
        progress=progress,
    )
    return MlpRun(
        dataset=data.name,
        settings=settings,
        class_names=data.class_names,
        layer_names=[f"hidden {i} ({n} units)" for i, n in enumerate(settings.hidden_layers, start=1)],
        history=history,
        activations=[np.stack(frames) for frames in recorder.activations],
        probabilities=np.stack(recorder.probabilities),
        sample_labels=split.validation[1][split.recorded].numpy(),
        dead=[np.stack(flags) for flags in recorder.dead],
        saturated=[np.stack(flags) for flags in recorder.saturated],
        n_train=len(split.train[1]),
        n_validation=len(split.validation[1]),
        seconds=time.perf_counter() - started,
        note=data.note,
    )


def reading(run: MlpRun) -> str:
    """One paragraph, from the numbers, of what the run shows: over- or underfitting, dead and saturated units."""
    last = run.history[-1]
    train_acc, val_acc = last["train_accuracy"], last["val_accuracy"]
    gap = 100 * (train_acc - val_acc)
    sentences = []
    if run.overfit_epoch is not None:
        best = run.history[run.overfit_epoch]["val_loss"]
        sentences.append(
            f"Validation loss was lowest at epoch {run.overfit_epoch} ({best:.3f}) and rose to {last['val_loss']:.3f} "
            f"by epoch {last['epoch']:.0f}, while training accuracy reached {train_acc:.1%} and validation accuracy "
            f"stayed at {val_acc:.1%}: the network is memorising its {run.n_train} training rows — overfitting. "
            "More training data (a larger train fraction), weight decay, dropout or fewer epochs would help."
        )
    elif gap > 10:
        sentences.append(
            f"Training accuracy {train_acc:.1%} against validation {val_acc:.1%} (a gap of {gap:.0f} points): "
            "the network fits its training rows much better than new ones — overfitting, though validation loss "
            "has not risen yet."
        )
    elif train_acc < 0.7:
        sentences.append(
            f"Training accuracy is only {train_acc:.1%} (validation {val_acc:.1%}): the network underfits. "
            "Train longer, raise the learning rate or widen the layers."
        )
    else:
        sentences.append(
            f"Validation loss ended at {last['val_loss']:.3f} without rising; training accuracy {train_acc:.1%}, "
            f"validation {val_acc:.1%} (a gap of {gap:.1f} points): no sign of overfitting."
        )
    for name, dead, saturated in zip(run.layer_names, run.dead, run.saturated, strict=True):
        units = dead.shape[1]
        if dead[-1].any():
            sentences.append(
                f"In {name}, {int(dead[-1].sum())} of {units} units are dead (zero for every validation row): "
                "they no longer learn; a lower learning rate or another activation avoids that."
            )
        if saturated[-1].any():
            sentences.append(
                f"In {name}, {int(saturated[-1].sum())} of {units} units are saturated (stuck at a bound of "
                f"{run.settings.activation}): their gradient vanishes."
            )
    if not any(d[-1].any() or s[-1].any() for d, s in zip(run.dead, run.saturated, strict=True)):
        sentences.append("No hidden unit is dead or saturated.")
    return " ".join(sentences)


def estimated_training_seconds(data: TabularData, settings: MlpSettings) -> float:
    """Training plus the per-epoch evaluation and recording, timed on this machine (see ``training_cost``)."""
    n_rows = len(data.labels)
    n_train = round(n_rows * settings.train_fraction)
    sample = slice(0, min(n_rows, 64))
    return training_seconds(
        build_mlp(data.features.shape[1], len(data.class_names), settings),
        nn.functional.cross_entropy,
        torch.from_numpy(data.features[sample]).float(),
        torch.from_numpy(data.labels[sample]),
        n_train=n_train,
        n_evaluated=n_rows + (n_rows - n_train),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
    )
