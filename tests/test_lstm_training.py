"""Training an LSTM on real and synthetic series: it learns, its forget gates show memory where memory is needed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explainers.lstm_gates import lstm_gates
from explainers.lstm_training import (
    LstmSettings,
    SequenceModel,
    classification_data,
    estimate_seconds,
    forecast_data,
    train_lstm,
)
from explainers.runtime import torch_threads
from explainers.training import TrainingSettings, fit
from hub_models.errors import UserInputError
from hub_models.series import load_labelled, load_series

STEPS, LAG = 14, 10


def _lag_task(lag: int, seed: int) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """White noise; the answer is the input ``lag`` steps before the last one (0: the last input itself)."""
    noise = torch.randn(2560, STEPS, 1, generator=torch.Generator().manual_seed(seed))
    answer = noise[:, STEPS - 1 - lag, 0]
    return (noise[:2048], answer[:2048]), (noise[2048:], answer[2048:])


def _trained_span(lag: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Per unit: mean forget gate over the last LAG steps and |correlation| of its final cell with the value LAG
    steps back; and the validation loss."""
    train, validation = _lag_task(lag, seed)
    torch.manual_seed(seed)
    model = SequenceModel(1, 8, 1, 1)
    with torch_threads(1):
        history = fit(model, nn.functional.mse_loss, train, validation, TrainingSettings(40, 64, 0.01, seed=seed))
        gates = lstm_gates(model.lstm, validation[0])
    forget = gates.forget[0, :, STEPS - LAG :].mean(axis=(0, 1))
    remembered = validation[0][:, STEPS - 1 - LAG, 0].numpy()
    cells = gates.cell[0, :, -1]
    holds = np.array([abs(np.corrcoef(cells[:, unit], remembered)[0, 1]) for unit in range(cells.shape[1])])
    return forget, holds, history[-1]["val_loss"]


@pytest.mark.parametrize("seed", [0, 1])
def test_memory_drives_forget_gates_to_one_and_no_memory_does_not(seed):
    forget, holds, loss = _trained_span(LAG, seed)
    assert loss < 0.05, "the LSTM should learn to recall the value 10 steps back"
    keepers = (forget > 0.95) & (holds > 0.8)
    assert keepers.any(), f"a unit should keep the value with its forget gate near 1: f={forget}, |r|={holds}"

    no_memory_forget, no_memory_holds, no_memory_loss = _trained_span(0, seed)
    assert no_memory_loss < 0.05
    assert no_memory_forget.max() < 0.95 < forget.max()
    assert not ((no_memory_forget > 0.8) & (no_memory_holds > 0.3)).any(), "nothing old needs keeping"


@pytest.fixture(scope="module")
def co2_run():
    data = forecast_data(load_series("co2"), 52)
    return train_lstm(data, LstmSettings(epochs=4), sample=-1)


def test_co2_beats_the_naive_last_value_forecast(co2_run):
    metrics = co2_run.metrics
    assert metrics["val_mae"] < metrics["naive_last_value_mae"]
    assert metrics["val_rmse"] < metrics["naive_last_value_rmse"]
    history = co2_run.history
    assert [h["epoch"] for h in history] == [0, 1, 2, 3, 4]
    assert history[-1]["val_loss"] < history[0]["val_loss"]


def test_run_keeps_gates_and_a_forget_trace_per_epoch(co2_run):
    gates = co2_run.gates
    assert gates.forget.shape == (1, 1, 52, 16)
    assert co2_run.epoch_forget.shape == (5, 1, 16)
    assert co2_run.sample == len(co2_run.data.validation[0]) - 1
    last_input = co2_run.data.shown[co2_run.sample, -1]
    assert abs(float(co2_run.prediction) - co2_run.data.truth[co2_run.sample]) < 3.0
    assert abs(last_input - co2_run.data.offset[co2_run.sample]) < 1e-9
    assert "weeks before the end of the window" in co2_run.summary


def test_same_seed_gives_the_same_gates_and_another_seed_does_not():
    data = forecast_data(load_series("airline"), 12)
    first, again, other = (train_lstm(data, LstmSettings(window=12, epochs=3, seed=s), 0) for s in (3, 3, 4))
    for name, array in first.gates.arrays().items():
        np.testing.assert_array_equal(array, again.gates.arrays()[name])
    assert not np.allclose(first.gates.forget, other.gates.forget)
    assert first.history == again.history


def test_two_layer_classification_on_italy_power_demand():
    data = classification_data(load_labelled("italy_power"))
    run = train_lstm(data, LstmSettings(hidden_size=8, layers=2, epochs=12, learning_rate=0.02), sample=0)
    assert run.gates.forget.shape == (2, 1, 24, 8)
    assert run.metrics["val_accuracy"] > 0.7
    assert run.prediction.shape == (2,) and abs(run.prediction.sum() - 1) < 1e-5
    assert "val_accuracy" in run.history[-1]


def test_too_short_series_and_bad_settings_are_explained():
    with pytest.raises(UserInputError, match="lower the window to 99 or less"):
        forecast_data(load_series("airline"), 100)
    with pytest.raises(UserInputError, match="LSTM parameter 'hidden_size' must be between 1 and 128; got 1000"):
        LstmSettings(hidden_size=1000)
    data = forecast_data(load_series("airline"), 12)
    with pytest.raises(UserInputError, match="Sequence 500 does not exist"):
        train_lstm(data, LstmSettings(window=12, epochs=1), sample=500)


def test_estimate_grows_with_epochs_and_window():
    series = load_series("co2")
    small = estimate_seconds(forecast_data(series, 26), LstmSettings(window=26, epochs=2))
    large = estimate_seconds(forecast_data(series, 52), LstmSettings(window=52, epochs=8))
    assert 0 < small < large
