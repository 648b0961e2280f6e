"""SmoothGrad (Smilkov et al., 2017): gradients averaged over noisy copies of the input, in native PyTorch.

Same semantics as ``xplique.attributions.SmoothGrad`` (2.0.2): ``nb_samples`` copies of the normalised input, each
plus Gaussian noise of standard deviation ``noise`` (an absolute std in normalised input space, not a fraction of the
input's range), the raw (signed, not absolute) gradients of the target's logit averaged over the copies, then reduced
over the colour channels by their mean. Captum's ``NoiseTunnel(Saliency)`` with ``nt_type="smoothgrad"``,
``stdevs=noise`` and ``abs=False`` is the same estimator. Randomness comes from a ``torch.Generator`` seeded with
``params["seed"]``: the same seed gives the same map.

Why native: Xplique draws the noise in TensorFlow and moves every batch through NumPy and its TorchWrapper; here the
noise is drawn straight into channels-last batches and each batch's gradients are summed as they come (timings:
``benchmarks/RESULTS.md``). ``tests/test_native_gradients.py`` checks the map converges to the known expectation on a
rectifier model, as Xplique's and Captum's do, and agrees with theirs on chelsea as well as two of its own seeds do.
The same loop gives VarGrad and SquareGrad (``noisy_gradient_statistics``). On a Keras model, Xplique's SmoothGrad
runs (``explainers.xplique_bridge``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explainers.base import Cost, Method, Param, Problem
from explainers.saliency import gradient_batches, input_gradients
from explainers.xplique_bridge import keras_runner


def noisy_copies(image: torch.Tensor, count: int, std: float, generator: torch.Generator) -> torch.Tensor:
    """``count`` copies of the 1 x C x H x W ``image`` plus N(0, std) noise, channels-last."""
    _, channels, height, width = image.shape
    noise = torch.randn(count, height, width, channels, generator=generator).permute(0, 3, 1, 2)
    return image + std * noise


@dataclass(frozen=True)
class GradientStatistics:
    """Per pixel and channel (H x W x C): the mean gradient over the noisy copies, the mean of the squared gradients
    (None unless asked for) and how many copies there were."""

    mean: torch.Tensor
    mean_of_squares: torch.Tensor | None
    count: int


def noisy_gradient_statistics(problem: Problem, params: dict[str, Any], *, squares: bool) -> GradientStatistics:
    """The mean of the gradients at ``params["nb_samples"]`` noisy copies of the input (noise std
    ``params["noise"]``, seeded with ``params["seed"]``) and, with ``squares``, the mean of their squares: H x W x C
    each, per pixel and channel. SmoothGrad is the first; VarGrad and SquareGrad (``explainers.vargrad``,
    ``explainers.squaregrad``) read the second."""
    generator = torch.Generator().manual_seed(int(params.get("seed", 0)))
    samples, std = params["nb_samples"], float(params["noise"])
    image = problem.inputs.contiguous(memory_format=torch.channels_last)  # 1x3xHxW, normalised
    total = torch.zeros(image.shape[2], image.shape[3], image.shape[1])  # H x W x C, as the gradients lie in memory
    total_squares = torch.zeros_like(total) if squares else None
    for part in gradient_batches(samples, problem):
        gradients = input_gradients(problem, noisy_copies(image, part.stop - part.start, std, generator))
        channels_last = gradients.permute(0, 2, 3, 1)
        total += channels_last.sum(dim=0)
        if total_squares is not None:
            total_squares += channels_last.square().sum(dim=0)
    return GradientStatistics(total / samples, None if total_squares is None else total_squares / samples, samples)


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return noisy_gradient_statistics(problem, params, squares=False).mean.mean(dim=-1).float().numpy()


NB_SAMPLES = Param(
    "nb_samples",
    int,
    default=50,
    fast=16,
    minimum=2,
    maximum=500,
    help="Noisy copies of the image, one gradient each.",
    sized=(8, 128),
)
NOISE = Param("noise", float, default=0.2, fast=0.2, minimum=0.0, maximum=2.0, help="Noise std (normalised input).")


METHOD = Method(
    key="smoothgrad",
    name="SmoothGrad",
    family="gradient",
    backend="native torch",
    params=(NB_SAMPLES, NOISE),
    cost=lambda params, _size: Cost(backward=params["nb_samples"]),
    attribute=attribute,
    keras=keras_runner("smoothgrad"),
    strengths="Much less noisy than plain gradients at the same resolution.",
    caveats="Costs nb_samples gradients; the noise level changes the map.",
    question="Which pixels matter, with the gradient's noise averaged away?",
    paper="Smilkov et al., SmoothGrad, ICML workshop 2017 (arXiv:1706.03825)",
    stochastic=True,
)
