"""What a live training run will cost, before it starts: multiply-accumulates priced at this machine's measured rate.

The rate (multiply-accumulates per second in training) and the fixed cost of one optimiser step are measured once per
process on a small MLP (about 0.1 s); a run then costs
``epochs x rows x MACs/row x 3`` (forward + backward) for training, plus one forward over every row per epoch for
the curves, plus a fixed cost per step.
"""

from __future__ import annotations

import functools
import math
import time

import torch
from torch import nn

from explainers.runtime import torch_threads

BACKWARD_FACTOR = 3.0
"""Forward + backward of a dense layer costs about three forwards."""


@functools.cache
def _machine_rates() -> tuple[float, float]:
    """(multiply-accumulates per second in training, seconds per optimiser step), measured here."""
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters())
    macs = 64 * 256 + 256 * 10

    def seconds_per_step(batch: int) -> float:
        inputs, targets = torch.randn(batch, 64, generator=generator), torch.randint(0, 10, (batch,))
        best = math.inf
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(5):
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(inputs), targets).backward()
                optimizer.step()
            best = min(best, (time.perf_counter() - started) / 5)
        return best

    with torch_threads(1):  # as explainers.training.fit trains
        small, large = seconds_per_step(8), seconds_per_step(512)
    rate = (512 - 8) * macs * BACKWARD_FACTOR / max(large - small, 1e-9)
    return rate, max(small - 8 * macs * BACKWARD_FACTOR / rate, 0.0)


def training_seconds(macs_per_row: float, n_train: int, n_evaluated: int, epochs: int, batch_size: int) -> float:
    """Predicted seconds to train ``epochs`` epochs and evaluate ``n_evaluated`` rows after each (and before)."""
    rate, per_step = _machine_rates()
    steps = epochs * math.ceil(n_train / batch_size)
    work = epochs * n_train * macs_per_row * BACKWARD_FACTOR + (epochs + 1) * n_evaluated * macs_per_row
    return work / rate + steps * per_step
