"""The exact gates of a trained ``nn.LSTM``, step by step, from its own weights; and what they say about memory.

PyTorch's fused LSTM kernel returns only hidden states. Here the same equations run again in Python with the
module's own parameters (gate order i, f, g, o, as ``nn.LSTM`` stores them):

    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     f = sigmoid(W_if x + b_if + W_hf h + b_hf)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)        o = sigmoid(W_io x + b_io + W_ho h + b_ho)
    c' = f * c + i * g                             h' = o * tanh(c')

so every gate value is the one the network used (tests check h and c against ``nn.LSTM`` to 1e-5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

GATE_NAMES = ("input", "forget", "cell_candidate", "output")


@dataclass(frozen=True)
class Gates:
    """Each array is layers x sequences x steps x hidden units (float32)."""

    input: np.ndarray
    forget: np.ndarray
    cell_candidate: np.ndarray
    output: np.ndarray
    cell: np.ndarray
    hidden: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in (*GATE_NAMES, "cell", "hidden")}


def lstm_gates(lstm: nn.LSTM, inputs: torch.Tensor) -> Gates:
    """Runs ``inputs`` (sequences x steps x features if ``batch_first``, else steps x sequences x features) through
    ``lstm`` from zero states, keeping i, f, g, o, c and h of every layer at every step."""
    if lstm.bidirectional or lstm.proj_size:
        raise ValueError("Gate extraction covers unidirectional LSTMs without projections.")
    layer_input = inputs if lstm.batch_first else inputs.transpose(0, 1)
    batch, steps, _ = layer_input.shape
    per_layer: list[dict[str, torch.Tensor]] = []
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}")
            bias = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}") if lstm.bias else 0.0
            from_inputs = layer_input @ w_ih.T + bias
            h = layer_input.new_zeros(batch, lstm.hidden_size)
            c = layer_input.new_zeros(batch, lstm.hidden_size)
            record: dict[str, list[torch.Tensor]] = {name: [] for name in (*GATE_NAMES, "cell", "hidden")}
            for step in range(steps):
                pre_i, pre_f, pre_g, pre_o = (from_inputs[:, step] + h @ w_hh.T).chunk(4, dim=1)
                i, f, g, o = torch.sigmoid(pre_i), torch.sigmoid(pre_f), torch.tanh(pre_g), torch.sigmoid(pre_o)
                c = f * c + i * g
                h = o * torch.tanh(c)
                for name, value in zip(record, (i, f, g, o, c, h), strict=True):
                    record[name].append(value)
            per_layer.append({name: torch.stack(values, dim=1) for name, values in record.items()})
            # Dropout between layers is off in eval mode, which is how the trained model is explained.
            layer_input = per_layer[-1]["hidden"]
    return Gates(**{name: torch.stack([r[name] for r in per_layer]).float().numpy() for name in per_layer[0]})


@dataclass(frozen=True)
class UnitMemory:
    """How long one hidden unit keeps its cell content over a window."""

    layer: int
    unit: int
    half_life: int
    """The largest L with f[T-L+1] * ... * f[T] >= 0.5: what the unit wrote L steps before the window's last step is
    still at least half there at the end."""
    longest_keep: int
    """The longest run of consecutive steps with forget gate above the threshold."""
    mean_forget: float


def _longest_run(flags: np.ndarray) -> int:
    run = longest = 0
    for flag in flags:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def unit_memory(forget: np.ndarray, threshold: float = 0.9) -> list[UnitMemory]:
    """Per unit of a ``layers x steps x hidden`` forget array (one sequence), longest memory first."""
    memories = []
    for layer, layer_forget in enumerate(forget):
        # survival[L - 1]: the part of a value written L steps before the last step that is left at the end.
        survival = np.cumprod(layer_forget[::-1].astype(np.float64), axis=0)
        for unit in range(layer_forget.shape[1]):
            memories.append(
                UnitMemory(
                    layer,
                    unit,
                    int(np.sum(survival[:, unit] >= 0.5)),
                    _longest_run(layer_forget[:, unit] > threshold),
                    float(layer_forget[:, unit].mean()),
                )
            )
    return sorted(memories, key=lambda m: (-m.half_life, -m.longest_keep, -m.mean_forget))


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def memory_summary(forget: np.ndarray, period: int | None, step_name: str, threshold: float = 0.9) -> str:
    """A few sentences: which units keep their memory longest, over how many lags, against the series' cycle."""
    memories = unit_memory(forget, threshold)
    layers, steps = forget.shape[0], forget.shape[1]

    def name(memory: UnitMemory) -> str:
        return f"{memory.unit}" if layers == 1 else f"{memory.unit} (layer {memory.layer + 1})"

    top = [m for m in memories[:3] if m.half_life > 0]
    if top:
        spans = _join([str(m.half_life) for m in top])
        who = f"Units {_join([name(m) for m in top])} remember" if len(top) > 1 else f"Unit {name(top[0])} remembers"
        text = (
            f"{who} longest: half of what {'they' if len(top) > 1 else 'it'} stored {spans} {step_name}s before the "
            "end of the window is still in the cell state at the end (the product of the forget gates since)."
        )
    else:
        text = f"No unit keeps half of a value for even one {step_name}: the network works from the latest inputs."
    keeper = max(memories, key=lambda m: m.longest_keep)
    if keeper.longest_keep:
        text += (
            f" Unit {name(keeper)}'s forget gate stays above {threshold} for {keeper.longest_keep} of the window's "
            f"{steps} {step_name}s in a row."
        )
    else:
        text += f" No forget gate exceeds {threshold} anywhere in the window."
    if period:
        spanning = [m for m in memories if m.half_life >= period]
        verdict = f"unit {name(spanning[0])} spans it." if spanning else "no unit spans it; it works from recent steps."
        text += f" The series' cycle is {period} {step_name}s: {verdict}"
    short = sum(m.half_life == 0 for m in memories)
    if top and short:
        text += f" {short} of {len(memories)} units keep less than half of a value for even one {step_name}."
    return text
