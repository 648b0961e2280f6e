"""The MLP tab's training dynamics: overfitting is seen when it happens, dead units are found, runs repeat."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers.mlp_dynamics import (
    Recorder,
    build_mlp,
    preset_values,
    reading,
    saturated_units,
    settings_from,
    split_data,
    train_mlp,
)
from hub_models.errors import UserInputError
from hub_models.tabular import TabularData, bundled_dataset


@pytest.fixture(scope="module")
def digits():
    return bundled_dataset("digits")


@pytest.fixture(scope="module")
def overfit_run(digits):
    return train_mlp(digits, settings_from(preset_values("overfits")))


@pytest.fixture(scope="module")
def general_run(digits):
    return train_mlp(digits, settings_from(preset_values("generalises")))


def _final(run):
    return run.metrics()["epochs"][-1]


def test_the_overfits_preset_overfits_and_the_reading_says_so(overfit_run):
    final = _final(overfit_run)
    assert final["train_accuracy"] > 0.99
    assert final["train_accuracy"] - final["val_accuracy"] > 0.05
    losses = [epoch["val_loss"] for epoch in overfit_run.metrics()["epochs"]]
    best = overfit_run.overfit_epoch
    assert best is not None and losses[-1] > 1.1 * losses[best], "validation loss rises after its minimum"
    assert "overfitting" in reading(overfit_run) and f"lowest at epoch {best}" in reading(overfit_run)


def test_the_generalises_preset_does_not(general_run):
    final = _final(general_run)
    assert final["val_accuracy"] > 0.95
    assert final["train_accuracy"] - final["val_accuracy"] < 0.04
    assert general_run.overfit_epoch is None
    assert "no sign of overfitting" in reading(general_run)


def test_units_with_a_large_negative_bias_are_reported_dead(digits):
    settings = settings_from({"hidden_layers": "32, 16"})
    split = split_data(digits, settings)
    model = build_mlp(64, 10, settings).eval()
    with torch.no_grad():
        model.linear1.bias[[3, 7, 20]] = -1000.0
        model.linear2.bias[:4] = -1000.0
    recorder = Recorder(model, split.validation[0], split.recorded, "relu")
    recorder(0)
    assert np.flatnonzero(recorder.dead[0][0]).tolist() == [3, 7, 20]
    assert np.flatnonzero(recorder.dead[1][0]).tolist() == [0, 1, 2, 3]
    assert recorder.activations[0][0].shape == (len(split.recorded), 32)


def test_a_high_learning_rate_kills_relu_units_and_the_reading_names_them(digits):
    settings = {"epochs": 5, "hidden_layers": "64, 64"}
    fast = train_mlp(digits, settings_from(settings | {"learning_rate": 0.05}))
    careful = train_mlp(digits, settings_from(settings | {"learning_rate": 0.003}))
    dead = int(fast.dead[1][-1].sum())
    assert dead > 10
    assert dead > 2 * int(careful.dead[1][-1].sum())
    assert f"In hidden 2 (64 units), {dead} of 64 units are dead" in reading(fast)
    assert fast.metrics()["epochs"][-1]["dead_units"] == [int(fast.dead[0][-1].sum()), dead]


def test_saturated_units_are_the_ones_stuck_at_a_bound():
    activations = np.array([[0.999, 0.2, -0.995], [0.998, -0.5, -0.999], [0.999, 0.9, -0.98]])
    assert saturated_units(activations, "tanh").tolist() == [True, False, True]
    assert not saturated_units(activations, "relu").any()


def test_heatmap_samples_are_grouped_by_class_and_cover_every_class(general_run):
    labels = general_run.sample_labels
    assert (np.diff(labels) >= 0).all()
    assert set(labels.tolist()) == set(range(10))
    frames = general_run.settings.epochs + 1
    assert general_run.activations[0].shape[:2] == (frames, len(labels))
    assert general_run.probabilities.shape == (frames, len(labels), 10)


def test_same_seed_same_metrics_other_seed_other_metrics(digits):
    settings = {"epochs": 4, "hidden_layers": "16"}
    first, second = (train_mlp(digits, settings_from(settings)).metrics()["epochs"] for _ in range(2))
    other = train_mlp(digits, settings_from(settings | {"seed": 1})).metrics()["epochs"]
    assert first == second
    assert first != other


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hidden_layers": "64, many"}, "whole numbers separated by commas"),
        ({"hidden_layers": "1,2,3,4,5,6"}, "1 to 5 hidden layers"),
        ({"epochs": 10_000}, "'epochs' must be between 1 and 300"),
        ({"activation": "softmax"}, "must be one of relu, tanh, sigmoid, gelu"),
        ({"dropout": "half"}, "'dropout' must be a number"),
        ({"momentum": 0.9}, "no parameter 'momentum'"),
    ],
)
def test_bad_settings_are_named(values, message):
    with pytest.raises(UserInputError, match=message):
        settings_from(values)


def test_a_train_fraction_too_small_for_the_classes_is_explained():
    data = TabularData(
        "tiny", np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 5, ["a", "b", "c"], list("vwxyz")
    )
    with pytest.raises(UserInputError, match="leaves 2 training and 18 validation rows for 5 classes"):
        split_data(data, settings_from({"train_fraction": 0.1}))
