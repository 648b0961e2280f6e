"""RISE (Petsiuk et al., 2018): the class score averaged over random smooth masks, via Xplique."""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Param, Problem
from explainers.xplique_bridge import run_xplique


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.Rise(
            model,
            batch_size=problem.batch_size,
            nb_samples=params["nb_samples"],
            grid_size=params["grid_size"],
            preservation_probability=params["preservation_probability"],
        ),
        gradients=False,
    )


METHOD = Method(
    key="rise",
    name="RISE",
    family="perturbation",
    backend="xplique",
    params=(
        Param("nb_samples", int, default=800, fast=200, minimum=2, maximum=20000, help="Random masks."),
        Param("grid_size", int, default=7, fast=7, minimum=2, maximum=32, help="Cells per side of each mask's grid."),
        Param(
            "preservation_probability",
            float,
            default=0.5,
            fast=0.5,
            minimum=0.05,
            maximum=0.95,
            help="Chance that a grid cell is kept.",
        ),
    ),
    cost=lambda params, _size: Cost(forward=params["nb_samples"]),
    attribute=attribute,
    question="Which regions, when kept visible, keep the class score high? (black box, any model)",
    paper="Petsiuk et al., RISE, BMVC 2018 (arXiv:1806.07421)",
    stochastic=True,
)
