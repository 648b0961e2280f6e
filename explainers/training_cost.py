"""What a live training run will cost, before it starts: one step of the very model, timed on this machine.

A small network's training time is dominated by fixed costs per step (kernel launches, the optimiser's update, an
LSTM's sequential time steps), not by its arithmetic, so a count of multiply-accumulates mispredicts it by 2-5x. Here
a fresh copy of the configured model takes three optimiser steps on a batch of the run's size (the best one counts)
and one forward pass over up to ``PROBE_ROWS`` rows, on the threads training uses; the run is then
``epochs x steps x step + (epochs + 1) x rows evaluated x forward per row``. It takes a few tens of milliseconds.
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn

from explainers import training
from explainers.runtime import torch_threads
from explainers.training import LossFn

PROBE_ROWS = 512
FRAME_SECONDS = 0.06
"""Drawing one animation frame and writing it (GIF, MP4, PNG), measured by benchmarks/bench_mlp.py and bench_lstm.py."""


def _best_of_three(action) -> float:
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def training_seconds(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_train: int,
    n_evaluated: int,
    epochs: int,
    batch_size: int,
) -> float:
    """Predicted seconds for ``fit``: ``inputs``/``targets`` are a few real or random rows of the run's shape
    (repeated to fill a batch); ``n_evaluated`` rows are evaluated after every epoch (and before the first)."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters())
    repeats = math.ceil(max(batch_size, PROBE_ROWS) / len(inputs))
    rows = inputs.repeat(repeats, *[1] * (inputs.dim() - 1))
    answers = targets.repeat(repeats, *[1] * (targets.dim() - 1))
    batch, batch_answers, probe = rows[:batch_size], answers[:batch_size], rows[:PROBE_ROWS]

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(batch), batch_answers).backward()
        optimizer.step()

    def forward() -> None:
        with torch.no_grad():
            model(probe)

    with torch_threads(training.TRAINING_THREADS):
        model.train()
        per_step = _best_of_three(step)
        model.eval()
        per_row = _best_of_three(forward) / len(probe)
    steps = epochs * math.ceil(n_train / batch_size)
    return steps * per_step + (epochs + 1) * n_evaluated * per_row
