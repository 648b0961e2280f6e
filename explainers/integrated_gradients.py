"""Integrated Gradients (Sundararajan et al., 2017): gradients averaged along a path from a baseline, in native PyTorch.

Same semantics as ``xplique.attributions.IntegratedGradients`` (2.0.2): the baseline is a constant image filled with
``baseline_value`` (normalised input space: 0 is the training set's mean colour); the path's points are
``baseline + alpha * (x - baseline)`` for ``alpha = linspace(0, 1, steps)`` (TensorFlow's, to the bit), both ends
included; their gradients of the target's logit are averaged by the trapezoidal rule (weights ``1 / (steps - 1)``,
halved at both ends, summing to 1); the map is ``(x - baseline) * average``, reduced over the colour channels by
their mean.

Why native: Xplique builds the path in TensorFlow and moves every batch through NumPy and its TorchWrapper. Here the
path points are made batch by batch, channels-last, from ``x - baseline``, the trapezoid weights computed once, and
each batch's gradients folded into one weighted sum as they come (batches of near-equal size: 50 steps run as 13 + 13
+ 12 + 12); timings: ``benchmarks/RESULTS.md``. ``tests/test_native_gradients.py`` checks the map equals Xplique's;
``tests/test_reference_agreement.py`` compares it with Captum's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.base import Cost, Method, Param, Problem
from explainers.saliency import gradient_batches, input_gradients
from explainers.xplique_bridge import keras_runner


def path_alphas(steps: int) -> torch.Tensor:
    """``tf.linspace(0, 1, steps)`` bit for bit: ``i * (1 / (steps - 1))`` in float32, the last exactly 1.

    ``torch.linspace`` rounds differently in the last bit for some points (it counts down from the end for the upper
    half); on MobileNetV2 that alone moves the map by ~6e-4 of its peak, where these alphas give 2e-7.
    """
    alphas = torch.arange(steps, dtype=torch.float32) * (1.0 / (steps - 1))
    alphas[-1] = 1.0
    return alphas


def trapezoid_weights(steps: int) -> torch.Tensor:
    """The trapezoidal rule's weight for the gradient at each of ``steps`` equally spaced path points."""
    weights = torch.full((steps,), 1.0 / (steps - 1))
    weights[[0, -1]] *= 0.5
    return weights


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    steps, baseline = params["steps"], float(params["baseline_value"])
    image = problem.inputs.contiguous(memory_format=torch.channels_last)  # 1x3xHxW, normalised
    difference = image - baseline
    alphas = path_alphas(steps).view(-1, 1, 1, 1)
    weights = trapezoid_weights(steps)
    average = torch.zeros(image.shape[2], image.shape[3], image.shape[1])  # H x W x C, as the gradients lie in memory
    for part in gradient_batches(steps, problem):
        gradients = input_gradients(problem, baseline + alphas[part] * difference)
        average += torch.tensordot(weights[part], gradients.permute(0, 2, 3, 1), dims=1)
    return (difference[0].permute(1, 2, 0) * average).mean(dim=-1).float().numpy()


METHOD = Method(
    key="integrated_gradients",
    name="Integrated Gradients",
    family="gradient",
    backend="native torch",
    params=(
        Param(
            "steps",
            int,
            default=50,
            fast=16,
            minimum=2,
            maximum=500,
            help="Points on the path from the baseline.",
            sized=(8, 128),
        ),
        Param(
            "baseline_value",
            float,
            default=0.0,
            fast=0.0,
            minimum=-3.0,
            maximum=3.0,
            help="Baseline in normalised input space: 0 is the training set's mean colour.",
        ),
    ),
    cost=lambda params, _size: Cost(backward=params["steps"]),
    attribute=attribute,
    keras=keras_runner("integrated_gradients"),
    strengths="Pixel-level, axiomatic (completeness: the map sums to the score's change).",
    caveats="Depends on the baseline image; noisy on photos; insertion curves often look poor at pixel level.",
    question="How much does each pixel contribute to the score, relative to a neutral baseline image?",
    paper="Sundararajan et al., Axiomatic Attribution for Deep Networks, ICML 2017 (arXiv:1703.01365)",
)
