"""The one training loop the live-training tabs share (MLP, LSTM): seeded, evaluated every epoch, observable.

Each epoch ends with an evaluation of the whole training and validation sets in eval mode (dropout off), so the
curves compare like with like, and a callback where a tab records what it animates (activations, gates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from explainers.base import ProgressFn
from explainers.limits import TRAINING_ADVICE, check_request
from explainers.runtime import torch_threads

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricsFn = Callable[[torch.Tensor, torch.Tensor], dict[str, float]]
Split = tuple[torch.Tensor, torch.Tensor]
TRAINING_THREADS = 1
"""Torch threads for live training (see ``explainers.runtime``); the benchmarks set 2 to compare."""


@dataclass(frozen=True)
class TrainingSettings:
    """Adam with L2 weight decay over shuffled mini-batches; the seed fixes the shuffling."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0
    seed: int = 0


def evaluate(model: nn.Module, loss_fn: LossFn, split: Split, metrics: MetricsFn | None) -> dict[str, float]:
    """Loss (and metrics) of the model on a whole split, without gradients."""
    inputs, targets = split
    with torch.no_grad():
        outputs = model(inputs)
        scores = {"loss": float(loss_fn(outputs, targets))}
        if metrics is not None:
            scores.update(metrics(outputs, targets))
    return scores


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    train: Split,
    validation: Split,
    settings: TrainingSettings,
    *,
    metrics: MetricsFn | None = None,
    on_epoch: Callable[[int], None] | None = None,
    progress: ProgressFn | None = None,
) -> list[dict[str, float]]:
    """Trains ``model`` in place; returns one record per epoch, epoch 0 being the untrained model.

    A record holds ``epoch``, ``train_loss``, ``val_loss`` and ``train_<name>`` / ``val_<name>`` for every metric.
    ``on_epoch(epoch)`` runs after each evaluation with the model in eval mode. Runs on one torch thread (see
    ``explainers.runtime``). Stops the request before each step when it has run out of time or its client has gone
    (``limits.check_request``).
    """
    with torch_threads(TRAINING_THREADS):
        return _fit(model, loss_fn, train, validation, settings, metrics, on_epoch, progress)


def _fit(
    model: nn.Module,
    loss_fn: LossFn,
    train: Split,
    validation: Split,
    settings: TrainingSettings,
    metrics: MetricsFn | None,
    on_epoch: Callable[[int], None] | None,
    progress: ProgressFn | None,
) -> list[dict[str, float]]:
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    shuffle = torch.Generator().manual_seed(settings.seed)
    inputs, targets = train
    history: list[dict[str, float]] = []
    for epoch in range(settings.epochs + 1):
        if epoch:
            model.train()
            for batch in torch.randperm(len(inputs), generator=shuffle).split(settings.batch_size):
                check_request(f"{epoch - 1} of {settings.epochs} epochs", TRAINING_ADVICE)
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(inputs[batch]), targets[batch]).backward()
                optimizer.step()
        model.eval()
        record: dict[str, float] = {"epoch": epoch}
        for prefix, split in (("train", train), ("val", validation)):
            record.update({f"{prefix}_{k}": v for k, v in evaluate(model, loss_fn, split, metrics).items()})
        history.append(record)
        if on_epoch is not None:
            on_epoch(epoch)
        if progress is not None:
            progress(
                epoch / settings.epochs,
                f"epoch {epoch}/{settings.epochs}: train loss {record['train_loss']:.3f}, "
                f"validation loss {record['val_loss']:.3f}",
            )
    return history
