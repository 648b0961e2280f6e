"""Saliency (Simonyan et al., 2014): the absolute input gradient of the class score, in native PyTorch.

Same semantics as ``xplique.attributions.Saliency`` (2.0.2): the gradient of the target's logit with respect to the
normalised input, its absolute value, reduced over the colour channels by their maximum (Xplique's default reducer
for Saliency, as in the paper). ``input_gradients`` and ``gradient_batches`` are shared with Integrated Gradients and
SmoothGrad, which average many such gradients.

Why native: Xplique sends the input through TensorFlow, NumPy and its TorchWrapper and back for one gradient; here it
is one forward and one backward pass on a channels-last leaf that requires grad (the model's weights are frozen, so no
weight gradient is computed), and no TensorFlow import on the first run (timings: ``benchmarks/RESULTS.md``).
``tests/test_native_gradients.py`` checks the map equals Xplique's.
"""

from __future__ import annotations

from itertools import pairwise
from math import ceil
from typing import Any

import numpy as np
import torch

from explainers.base import Cost, Method, Problem
from explainers.xplique_bridge import keras_runner

GRADIENT_BATCH_SIZE = 8
"""The gradient methods' largest batch. MobileNetV2's forward+backward runs as fast at 8 as at 16 here (84 img/s
channels-last at both, benchmarks/results/peers-seeds-symmetric.json), and the activations kept for the backward pass
take 0.8 instead of 1.25 GiB: less for an idle app to give back and for the next request to fault in again
(``explainers.runtime.within_memory_budget``)."""


def gradient_batches(total: int, problem: Problem) -> list[slice]:
    """``batch_slices`` for ``total`` gradients, at most ``GRADIENT_BATCH_SIZE`` (and the problem's batch) at a time."""
    return batch_slices(total, min(problem.batch_size, GRADIENT_BATCH_SIZE))


def batch_slices(total: int, batch_size: int) -> list[slice]:
    """``total`` items in as few batches as ``batch_size`` allows, of near-equal sizes.

    50 gradients at batch 16 run as 13 + 13 + 12 + 12 rather than 16 + 16 + 16 + 2: a batch of 2 runs at about half
    the per-image throughput of a full one here.
    """
    count = ceil(total / batch_size)
    bounds = [total * i // count for i in range(count + 1)]
    return [slice(start, stop) for start, stop in pairwise(bounds)]


def input_gradients(problem: Problem, points: torch.Tensor) -> torch.Tensor:
    """The gradient of the target's logit at each of ``points`` (N x C x H x W): one forward, one backward.

    The points are fed channels-last (MobileNetV2's forward + backward runs ~1.5x faster on NHWC here: 103 vs 68
    img/s at batch 16). The scores of the batch are summed so one ``autograd.grad`` call gives every point's gradient.
    """
    leaf = points.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    with torch.enable_grad():
        score = problem.model(leaf)[:, problem.target].sum()
        (gradient,) = torch.autograd.grad(score, leaf)
    return gradient


def attribute(problem: Problem, _params: dict[str, Any]) -> np.ndarray:
    gradient = input_gradients(problem, problem.inputs)[0]
    return gradient.abs().amax(dim=0).float().numpy()


METHOD = Method(
    key="saliency",
    name="Saliency",
    family="gradient",
    backend="native torch",
    params=(),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=attribute,
    keras=keras_runner("saliency"),
    strengths="One gradient: instant, pixel-level.",
    caveats="Noisy and fragile; the sanity check shows gradients can look like edges.",
    question="Which pixels would change the class score most if nudged? (one gradient, noisy)",
    paper="Simonyan et al., Deep Inside Convolutional Networks, ICLR workshop 2014 (arXiv:1312.6034)",
)
