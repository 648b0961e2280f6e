"""SmoothGrad (Smilkov et al., 2017): gradients averaged over noisy copies of the input, via Xplique."""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Param, Problem
from explainers.xplique_bridge import xplique_smoothgrad


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return xplique_smoothgrad(problem, params)


METHOD = Method(
    key="smoothgrad",
    name="SmoothGrad",
    family="gradient",
    backend="xplique",
    params=(
        Param("nb_samples", int, default=50, fast=16, minimum=2, maximum=500, help="Noisy copies averaged."),
        Param("noise", float, default=0.2, fast=0.2, minimum=0.0, maximum=2.0, help="Noise std (normalised input)."),
    ),
    cost=lambda params, _size: Cost(backward=params["nb_samples"]),
    attribute=attribute,
    strengths="Much less noisy than plain gradients at the same resolution.",
    caveats="Costs nb_samples gradients; the noise level changes the map.",
    question="Which pixels matter, with the gradient's noise averaged away?",
    paper="Smilkov et al., SmoothGrad, ICML workshop 2017 (arXiv:1706.03825)",
    stochastic=True,
)
