"""KernelSHAP (Lundberg & Lee, 2017): Shapley values of superpixels estimated by regression, in native PyTorch.

The algorithm, as ``xplique.attributions.KernelShap`` (2.0.2) runs it (and Captum's ``KernelShap``, which Xplique
copied the sampling from):

1. segment the image into SLIC superpixels (``explainers.superpixels.superpixels``);
2. draw ``nb_samples`` coalitions: a size ``k`` in ``1 .. M - 1`` with probability proportional to
   ``(M - 1) / (k (M - k))`` (M superpixels), then ``k`` superpixels uniformly at random (Xplique ranks normal
   draws, we rank uniform ones: the same distribution), each followed by its complement (paired sampling, which
   Xplique does not do: the same distribution per sample, half the variance): ``coalitions``. Sampling sizes this
   way and weighting every sample alike is the Shapley kernel ``(M - 1) / (k (M - k) C(M, k))`` applied as a
   sampling distribution;
3. score each: the target's logit on the image whose switched-off superpixels take the value 0.5 in every
   normalised channel (Xplique's default ``ref_value``; ``explainers.superpixels.BASELINE``):
   ``explainers.superpixels.perturbed_scores``;
4. fit scikit-learn's ``LinearRegression()`` (intercept fitted, no regularisation, uniform weights) and paint each
   superpixel with its coefficient: ``surrogate_map``.

Where the paper and Xplique differ, this follows Xplique: the paper forces the fit through the empty and full
coalitions (infinite kernel weight, so the values add up to ``f(x) - f(baseline)``); Xplique never samples them and
fits a free intercept (Captum samples them first with weight 1e6). For a model that is additive in the superpixels,
either gives the exact Shapley values; otherwise the efficiency property holds only approximately here.

Randomness: one ``torch.Generator`` seeded with ``params["seed"]``; the same seed gives the same map.

Why native: as for ``explainers.lime`` (one gather and one multiply-add per batch, in channels-last memory, instead
of TensorFlow eager ops and a NumPy hand-over per batch); timings: ``benchmarks/RESULTS.md``.
``tests/test_native_surrogates.py``: fed the same coalitions, Xplique's KernelShap gives this map and Captum's
KernelShap the same weights, to float rounding; on a model additive in the superpixels the map is the exact Shapley
values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.base import Cost, Method, Param, Problem
from explainers.superpixels import SEGMENTS_PARAM, fit_linear, paint, perturbed_scores, superpixels
from explainers.xplique_bridge import keras_runner


def coalition_sizes(n_features: int) -> torch.Tensor:
    """``p(k)`` for ``k = 0 .. M - 1``, proportional to ``(M - 1) / (k (M - k))`` and 0 for ``k = 0``."""
    k = torch.arange(1, n_features, dtype=torch.float64)
    return torch.cat([torch.zeros(1, dtype=torch.float64), (n_features - 1) / (k * (n_features - k))])


def coalitions(nb_samples: int, n_features: int, seed: int) -> np.ndarray:
    """``(nb_samples, n_features)`` int64 0/1 coalitions in complementary pairs: a size drawn by
    ``coalition_sizes``, that many features uniformly at random, then the complement of that coalition.

    Each coalition alone follows Xplique's distribution (the kernel is symmetric in ``k`` and ``M - k``, and the
    complement of a uniform ``k``-subset is a uniform ``(M - k)``-subset); pairing them ("paired sampling", as the
    SHAP library does) halves the estimator's variance for the same cost, and no draw can leave a superpixel always
    on (4 independent draws over 2 superpixels did, 1 time in 8: a flat map). Never all-on nor all-off, except for a
    single feature (a flat image gives one superpixel): its Shapley value is ``f(on) - f(off)``, so the full and the
    empty coalition alternate."""
    if n_features < 2:
        return (np.arange(nb_samples)[:, None] % 2 == 0).astype(np.int64)
    generator = torch.Generator().manual_seed(int(seed))
    pairs = (nb_samples + 1) // 2
    sizes = torch.multinomial(coalition_sizes(n_features), pairs, replacement=True, generator=generator)
    ranks = torch.rand(pairs, n_features, generator=generator).argsort(dim=1).argsort(dim=1)
    drawn = (ranks < sizes.unsqueeze(1)).long()
    return torch.stack([drawn, 1 - drawn], dim=1).reshape(-1, n_features)[:nb_samples].numpy()


def surrogate_weights(samples: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(n_features,)`` float64: the coefficients of ``LinearRegression()`` fitted to the scores, all samples alike."""
    return fit_linear(samples, scores, np.ones(len(scores)), alpha=0.0)


def surrogate_map(
    segments: np.ndarray, samples: np.ndarray, scores: np.ndarray, params: dict[str, Any] | None = None
) -> np.ndarray:
    """HxW float32 map: each superpixel of ``segments`` painted with its ``surrogate_weights``.

    ``params`` is accepted for the same signature as ``explainers.lime.surrogate_map``; KernelSHAP's fit has none.
    """
    return paint(surrogate_weights(samples, scores), segments)


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    segments = superpixels(problem, params["n_segments"])
    samples = coalitions(params["nb_samples"], int(segments.max()) + 1, params.get("seed", 0))
    return surrogate_map(segments, samples, perturbed_scores(problem, segments, samples))


METHOD = Method(
    key="kernel_shap",
    name="KernelSHAP",
    family="perturbation",
    backend="native torch",
    params=(
        Param(
            "nb_samples",
            int,
            default=600,
            fast=200,
            minimum=2,
            maximum=10000,
            help="Coalitions sampled.",
            sized=(100, 2000),
        ),
        SEGMENTS_PARAM,
    ),
    cost=lambda params, _size: Cost(forward=params["nb_samples"]),
    attribute=attribute,
    keras=keras_runner("kernel_shap"),
    strengths="Shapley values: a principled, additive share per superpixel; black box.",
    caveats="Needs many samples to settle; depends on the superpixel segmentation; slowest here.",
    question="What is each superpixel's fair (Shapley) share of the class score?",
    paper="Lundberg & Lee, A Unified Approach to Interpreting Model Predictions, NeurIPS 2017 (arXiv:1705.07874)",
    stochastic=True,
)
