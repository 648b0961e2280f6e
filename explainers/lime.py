"""LIME (Ribeiro et al., 2016): a weighted linear model over superpixels switched on and off, via Xplique.

Samples are weighted as in the paper's reference code: by the cosine distance between the sample's on/off vector
and the all-on vector, with an exponential kernel of width ~0.25. Xplique's default kernel measures Euclidean
distance between normalised *images* with width 45; on a 224 px image those distances are 140-200, so every weight
is below 1e-4, a handful of samples dominate and the ridge fit shrinks the map to ~1e-5: noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Param, Problem
from explainers.superpixels import SEGMENTS_PARAM
from explainers.xplique_bridge import xplique_lime


def cosine_weights(samples: np.ndarray, width: float) -> np.ndarray:
    """Each on/off sample's weight: an exponential kernel on its cosine distance to the all-on vector."""
    kept = np.asarray(samples, dtype=np.float32)
    norms = np.linalg.norm(kept, axis=1) * np.sqrt(kept.shape[1])
    cosine = kept.sum(axis=1) / np.where(norms > 0, norms, 1.0)
    return np.exp(-((1.0 - cosine) ** 2) / width**2).astype(np.float32)


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return xplique_lime(problem, params)


METHOD = Method(
    key="lime",
    name="LIME",
    family="perturbation",
    backend="xplique",
    params=(
        Param("nb_samples", int, default=400, fast=150, minimum=2, maximum=10000, help="Perturbed images."),
        SEGMENTS_PARAM,
        Param(
            "kernel_width",
            float,
            default=0.25,
            fast=0.25,
            minimum=0.01,
            maximum=10.0,
            help="Width of the kernel on the cosine distance between a sample's on/off vector and all-on.",
        ),
    ),
    cost=lambda params, _size: Cost(forward=params["nb_samples"]),
    attribute=attribute,
    strengths="Model-agnostic, readable superpixel weights.",
    caveats="Depends on the segmentation, the kernel width and the seed: maps vary between runs.",
    question="Which superpixels does a local linear surrogate of the model rely on?",
    paper="Ribeiro et al., 'Why Should I Trust You?', KDD 2016 (arXiv:1602.04938)",
    stochastic=True,
)
