"""Gate extraction is exact: it reproduces nn.LSTM's own hidden and cell states, step by step and layer by layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explainers.lstm_gates import lstm_gates, memory_summary, unit_memory


def _states_step_by_step(lstm: nn.LSTM, inputs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """nn.LSTM fed one step at a time with its own returned state: (h, c) as layers x batch x steps x hidden."""
    state = None
    hidden, cell = [], []
    with torch.no_grad():
        for step in range(inputs.shape[1]):
            _, state = lstm(inputs[:, step : step + 1], state)
            hidden.append(state[0].clone())
            cell.append(state[1].clone())
    return torch.stack(hidden, dim=2).numpy(), torch.stack(cell, dim=2).numpy()


@pytest.mark.parametrize(("layers", "features", "hidden"), [(1, 1, 8), (2, 3, 5), (3, 2, 4)])
def test_gates_reproduce_nn_lstm_states(layers, features, hidden):
    torch.manual_seed(layers)
    lstm = nn.LSTM(features, hidden, num_layers=layers, batch_first=True).eval()
    with torch.no_grad():
        for parameter in lstm.parameters():
            parameter.uniform_(-1.5, 1.5)  # larger than the default init, so gates saturate somewhere too
    inputs = torch.randn(4, 30, features) * 2
    gates = lstm_gates(lstm, inputs)

    expected_h, expected_c = _states_step_by_step(lstm, inputs)
    assert gates.hidden.shape == gates.forget.shape == (layers, 4, 30, hidden)
    np.testing.assert_allclose(gates.hidden, expected_h, atol=1e-5)
    np.testing.assert_allclose(gates.cell, expected_c, atol=1e-5)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(inputs)
    np.testing.assert_allclose(gates.hidden[-1], output.numpy(), atol=1e-5)
    np.testing.assert_allclose(gates.hidden[:, :, -1], h_n.numpy(), atol=1e-5)
    np.testing.assert_allclose(gates.cell[:, :, -1], c_n.numpy(), atol=1e-5)
    # The gates themselves are consistent with the states they produced.
    previous_c = np.concatenate([np.zeros_like(gates.cell[:, :, :1]), gates.cell[:, :, :-1]], axis=2)
    recombined = gates.forget * previous_c + gates.input * gates.cell_candidate
    np.testing.assert_allclose(recombined, gates.cell, atol=1e-5)
    np.testing.assert_allclose(gates.output * np.tanh(gates.cell), gates.hidden, atol=1e-5)
    for sigmoid_gate in (gates.input, gates.forget, gates.output):
        assert sigmoid_gate.min() >= 0 and sigmoid_gate.max() <= 1


def test_time_major_lstm_gives_the_same_gates():
    torch.manual_seed(0)
    batch_first = nn.LSTM(2, 6, num_layers=2, batch_first=True).eval()
    time_major = nn.LSTM(2, 6, num_layers=2).eval()
    time_major.load_state_dict(batch_first.state_dict())
    inputs = torch.randn(3, 12, 2)
    np.testing.assert_allclose(
        lstm_gates(batch_first, inputs).forget, lstm_gates(time_major, inputs.transpose(0, 1)).forget, atol=1e-6
    )


def test_bidirectional_lstms_are_refused():
    with pytest.raises(ValueError, match="unidirectional"):
        lstm_gates(nn.LSTM(1, 4, bidirectional=True, batch_first=True), torch.zeros(1, 5, 1))


def test_unit_memory_measures_how_long_values_survive():
    forget = np.full((1, 60, 3), 0.2, dtype=np.float32)
    forget[0, 8:, 1] = 0.97  # unit 1 keeps through the last 52 steps: 0.97 ** 22 >= 0.5 > 0.97 ** 23
    forget[0, 50:, 2] = 0.99  # unit 2 through the last 10
    memories = unit_memory(forget)
    assert [(m.unit, m.half_life, m.longest_keep) for m in memories] == [(1, 22, 52), (2, 10, 10), (0, 0, 0)]
    summary = memory_summary(forget, period=52, step_name="week")
    assert summary.startswith("Units 1 and 2 remember longest: half of what they stored 22 and 10 weeks before")
    assert "Unit 1's forget gate stays above 0.9 for 52 of the window's 60 weeks in a row" in summary
    assert "cycle is 52 weeks: no unit spans it" in summary
    assert "1 of 3 units keep less than half of a value for even one week" in summary
    forgetful = memory_summary(np.full((1, 8, 2), 0.4), period=None, step_name="step")
    assert forgetful.startswith("No unit keeps half of a value for even one step")
    assert "No forget gate exceeds 0.9 anywhere in the window" in forgetful
    layered = memory_summary(np.full((2, 30, 2), 0.99), period=12, step_name="month")
    assert "unit 0 (layer 1) spans it" in layered
