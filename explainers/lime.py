"""LIME (Ribeiro et al., 2016): a weighted linear model over superpixels switched on and off, in native PyTorch.

The algorithm, as ``xplique.attributions.Lime`` (2.0.2) runs it with the settings this app gave it:

1. segment the image into SLIC superpixels (``explainers.superpixels.superpixels``);
2. draw ``nb_samples`` on/off vectors, each superpixel on with probability 0.5 independently (Xplique's default
   perturbation function, ``uniform < 0.5``; all-on and all-off vectors may occur): ``coalitions``;
3. score each: the target's logit (Xplique's classification operator, the model output times the one-hot) on the
   image whose switched-off superpixels take the value 0.5 in every normalised channel (Xplique's default
   ``ref_value``; see ``explainers.superpixels.BASELINE``): ``explainers.superpixels.perturbed_scores``;
4. weight each sample by ``cosine_weights`` (falling back to uniform weights if they all vanish, as Xplique does);
5. fit scikit-learn's ``Ridge(alpha=2)`` with an intercept on (on/off vectors, scores, weights) and paint each
   superpixel with its coefficient (the intercept is dropped): ``surrogate_map``.

Samples are weighted as in the paper's reference code: by the cosine distance between the sample's on/off vector
and the all-on vector, with an exponential kernel of width ~0.25. Xplique's default kernel measures Euclidean
distance between normalised *images* with width 45; on a 224 px image those distances are 140-200, so every weight
is below 1e-4, a handful of samples dominate and the ridge fit shrinks the map to ~1e-5: noise.

Where the paper's reference code (``lime_image``) and Xplique differ, this follows Xplique: a fixed baseline instead
of each superpixel's mean colour, no unperturbed image forced in as the first sample, no feature selection before the
fit, and the intercept-fitted ridge's coefficients as the map.

Randomness: one ``torch.Generator`` seeded with ``params["seed"]``; the same seed gives the same map.

Why native: Xplique draws the samples and builds every batch of masked images in TensorFlow, eagerly, and hands
each batch through NumPy to PyTorch; here each batch is one gather and one fused multiply-add written in channels-last
memory, and the fit is a ~50 x 50 solve, so the model's own calls take nearly all the time (timings:
``benchmarks/RESULTS.md``). ``tests/test_native_surrogates.py``: fed the same samples, Xplique's Lime gives this map
and Captum's Lime the same weights, to float rounding.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from explainers.base import Cost, Method, Param, Problem
from explainers.superpixels import SEGMENTS_PARAM, fit_linear, paint, perturbed_scores, superpixels
from explainers.xplique_bridge import keras_runner

RIDGE_ALPHA = 2.0
"""The interpretable model the app gave Xplique: ``Ridge(alpha=2)`` (also Xplique's own default)."""


def coalitions(nb_samples: int, n_features: int, seed: int, probability: float = 0.5) -> np.ndarray:
    """``(nb_samples, n_features)`` int64 0/1 on/off vectors, each feature on with ``probability`` independently."""
    generator = torch.Generator().manual_seed(int(seed))
    return (torch.rand(nb_samples, n_features, generator=generator) < probability).long().numpy()


def cosine_weights(samples: np.ndarray, width: float) -> np.ndarray:
    """Each on/off sample's weight: an exponential kernel on its cosine distance to the all-on vector."""
    kept = np.asarray(samples, dtype=np.float32)
    norms = np.linalg.norm(kept, axis=1) * np.sqrt(kept.shape[1])
    cosine = kept.sum(axis=1) / np.where(norms > 0, norms, 1.0)
    return np.exp(-((1.0 - cosine) ** 2) / width**2).astype(np.float32)


def sample_weights(samples: np.ndarray, width: float) -> np.ndarray:
    """``cosine_weights``, or uniform weights where they all underflow to 0 (a narrow kernel): Xplique's fallback."""
    weights = cosine_weights(samples, width)
    if weights.sum() == 0:
        warnings.warn("All LIME sample weights are zero: falling back to uniform weights.", stacklevel=2)
        return np.ones_like(weights)
    return weights


def surrogate_weights(samples: np.ndarray, scores: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """``(n_features,)`` float64: the coefficients of ``Ridge(alpha=2)`` fitted to the scores, weighted by
    ``sample_weights(samples, params["kernel_width"])``."""
    return fit_linear(samples, scores, sample_weights(samples, params["kernel_width"]), RIDGE_ALPHA)


def surrogate_map(segments: np.ndarray, samples: np.ndarray, scores: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """HxW float32 map: each superpixel of ``segments`` painted with its ``surrogate_weights``."""
    return paint(surrogate_weights(samples, scores, params), segments)


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    segments = superpixels(problem, params["n_segments"])
    samples = coalitions(params["nb_samples"], int(segments.max()) + 1, params.get("seed", 0))
    return surrogate_map(segments, samples, perturbed_scores(problem, segments, samples), params)


METHOD = Method(
    key="lime",
    name="LIME",
    family="perturbation",
    backend="native torch",
    params=(
        Param(
            "nb_samples",
            int,
            default=400,
            fast=150,
            minimum=2,
            maximum=10000,
            help="Perturbed images.",
            sized=(100, 1000),
        ),
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
    keras=keras_runner("lime"),
    strengths="Model-agnostic, readable superpixel weights.",
    caveats="Depends on the segmentation, the kernel width and the seed: maps vary between runs.",
    question="Which superpixels does a local linear surrogate of the model rely on?",
    paper="Ribeiro et al., 'Why Should I Trust You?', KDD 2016 (arXiv:1602.04938)",
    stochastic=True,
)
