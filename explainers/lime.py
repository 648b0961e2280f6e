"""LIME (Ribeiro et al., 2016): a weighted linear model over superpixels switched on and off, via Xplique."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from explainers.base import Cost, Method, Param, Problem
from explainers.superpixels import SEGMENTS_PARAM, superpixel_mapping
from explainers.xplique_bridge import run_xplique


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.Lime(
            model,
            batch_size=problem.batch_size,
            interpretable_model=Ridge(alpha=2),
            map_to_interpret_space=superpixel_mapping(problem, params["n_segments"]),
            nb_samples=params["nb_samples"],
            kernel_width=params["kernel_width"],
        ),
        gradients=False,
    )


METHOD = Method(
    key="lime",
    name="LIME",
    family="perturbation",
    backend="xplique",
    params=(
        Param("nb_samples", int, default=400, fast=150, minimum=2, maximum=10000, help="Perturbed images."),
        SEGMENTS_PARAM,
        Param(
            "kernel_width", float, default=45.0, fast=45.0, minimum=0.1, maximum=1000.0, help="Similarity kernel width."
        ),
    ),
    cost=lambda params, _size: Cost(forward=params["nb_samples"]),
    attribute=attribute,
    question="Which superpixels does a local linear surrogate of the model rely on?",
    paper="Ribeiro et al., 'Why Should I Trust You?', KDD 2016 (arXiv:1602.04938)",
    stochastic=True,
)
