"""KernelSHAP (Lundberg & Lee, 2017): Shapley values of superpixels estimated by weighted regression, via Xplique."""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Param, Problem
from explainers.superpixels import SEGMENTS_PARAM
from explainers.xplique_bridge import xplique_kernel_shap


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return xplique_kernel_shap(problem, params)


METHOD = Method(
    key="kernel_shap",
    name="KernelSHAP",
    family="perturbation",
    backend="xplique",
    params=(
        Param("nb_samples", int, default=600, fast=200, minimum=2, maximum=10000, help="Coalitions sampled."),
        SEGMENTS_PARAM,
    ),
    cost=lambda params, _size: Cost(forward=params["nb_samples"]),
    attribute=attribute,
    strengths="Shapley values: a principled, additive share per superpixel; black box.",
    caveats="Needs many samples to settle; depends on the superpixel segmentation; slowest here.",
    question="What is each superpixel's fair (Shapley) share of the class score?",
    paper="Lundberg & Lee, A Unified Approach to Interpreting Model Predictions, NeurIPS 2017 (arXiv:1705.07874)",
    stochastic=True,
)
