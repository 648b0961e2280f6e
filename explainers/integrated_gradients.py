"""Integrated Gradients (Sundararajan et al., 2017): gradients averaged along a path from a baseline, via Xplique."""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Param, Problem
from explainers.xplique_bridge import xplique_integrated_gradients


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return xplique_integrated_gradients(problem, params)


METHOD = Method(
    key="integrated_gradients",
    name="Integrated Gradients",
    family="gradient",
    backend="xplique",
    params=(
        Param("steps", int, default=50, fast=16, minimum=2, maximum=500, help="Points on the path from the baseline."),
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
    strengths="Pixel-level, axiomatic (completeness: the map sums to the score's change).",
    caveats="Depends on the baseline image; noisy on photos; insertion curves often look poor at pixel level.",
    question="How much does each pixel contribute to the score, relative to a neutral baseline image?",
    paper="Sundararajan et al., Axiomatic Attribution for Deep Networks, ICML 2017 (arXiv:1703.01365)",
)
