"""The shared training loop: it learns, it is reproducible, and it reports every epoch."""

from __future__ import annotations

import torch
from torch import nn

from explainers.training import TrainingSettings, fit


def _problem(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(200, 4, generator=generator)
    targets = (inputs[:, 0] + inputs[:, 1] > 0).long()
    return (inputs[:150], targets[:150]), (inputs[150:], targets[150:])


def _accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    return {"accuracy": float((outputs.argmax(1) == targets).float().mean())}


def _run(seed: int, calls: list | None = None):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    train, validation = _problem()
    settings = TrainingSettings(epochs=8, batch_size=16, learning_rate=0.01, seed=seed)

    def on_epoch(epoch: int) -> None:
        if calls is not None:
            calls.append((epoch, model.training))

    return fit(model, nn.functional.cross_entropy, train, validation, settings, metrics=_accuracy, on_epoch=on_epoch)


def test_it_learns_a_separable_problem_and_records_epoch_zero():
    calls: list = []
    history = _run(0, calls)
    assert [record["epoch"] for record in history] == list(range(9))
    assert calls == [(epoch, False) for epoch in range(9)], "on_epoch runs once per epoch, in eval mode"
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert history[-1]["val_accuracy"] > 0.9
    assert set(history[0]) == {"epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"}


def test_same_seed_same_history_other_seed_other_history():
    assert _run(3) == _run(3)
    assert _run(3) != _run(4)


def test_progress_reaches_one_and_names_the_epoch():
    updates: list[tuple[float, str]] = []
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    train, validation = _problem()
    fit(
        model,
        nn.functional.cross_entropy,
        train,
        validation,
        TrainingSettings(3, 32, 0.01),
        progress=lambda f, t: updates.append((f, t)),
    )
    assert [fraction for fraction, _ in updates] == [0.0, 1 / 3, 2 / 3, 1.0]
    assert updates[-1][1].startswith("epoch 3/3: train loss")
