"""Occlusion sensitivity (Zeiler & Fergus, 2014): the score drop when a sliding patch is blanked, via Xplique."""

from __future__ import annotations

from math import ceil
from typing import Any

import numpy as np

from explainers.base import Cost, Method, Param, Problem
from explainers.xplique_bridge import run_xplique


def patch_positions(size: tuple[int, int], patch: int, stride: int) -> int:
    """How many patches Xplique slides over an image of ``size`` (its anchor rule)."""
    return ceil(max(1, size[0] - patch + 1) / stride) * ceil(max(1, size[1] - patch + 1) / stride)


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.Occlusion(
            model,
            batch_size=problem.batch_size,
            patch_size=params["patch_size"],
            patch_stride=params["patch_stride"],
            occlusion_value=params["occlusion_value"],
        ),
        gradients=False,
    )


METHOD = Method(
    key="occlusion",
    name="Occlusion",
    family="perturbation",
    backend="xplique",
    params=(
        Param("patch_size", int, default=32, fast=32, minimum=2, maximum=224, help="Side of the blanked square (px)."),
        Param("patch_stride", int, default=8, fast=16, minimum=1, maximum=224, help="Step between patches (px)."),
        Param(
            "occlusion_value",
            float,
            default=0.0,
            fast=0.0,
            minimum=-3.0,
            maximum=3.0,
            help="Fill value in normalised input space: 0 is the mean colour.",
        ),
    ),
    cost=lambda params, size: Cost(forward=1 + patch_positions(size, params["patch_size"], params["patch_stride"])),
    attribute=attribute,
    question="Where does hiding a part of the image lower the class score most?",
    paper="Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014 (arXiv:1311.2901)",
)
