"""Sobol attribution (Fel et al., 2021): each grid cell's total-order Sobol' index, run by Xplique.

Rule: the image is cut into a ``grid_size`` x ``grid_size`` grid whose cells are masked at random intensities
``M_i`` in [0, 1] (``explainers.sensitivity``: the masks, the perturbation and the samplers). With the class score
``f(M)`` of the perturbed image, the total-order index of cell ``i`` is the share of the score's variance that
involves ``M_i``, alone or with any other cell::

    S_Ti = E[Var(f | M_~i)] / Var(f)
         ~ sum_j (f(A_j) - f(C_ij))^2 / (2 N Var(f(A)))   (Jansen's estimator)

where ``A`` and ``B`` are two designs of ``N = nb_design`` masks and ``C_i`` is ``A`` with cell ``i`` taken from
``B``: ``N * (grid_size**2 + 2)`` images go through the model. A cell that matters only together with others still
gets its share, which a one-cell-at-a-time method (Occlusion) misses.

Paper: T. Fel, R. Cadene, M. Chalvidal, M. Cord, D. Vigouroux, T. Serre, "Look at the Variance! Efficient Black-box
Explanations with Sobol-based Sensitivity Analysis", NeurIPS 2021 (arXiv:2111.04138).

Implementation: ``xplique.attributions.SobolAttributionMethod`` with its Jansen estimator, on a PyTorch model
through Xplique's ``TorchWrapper`` (``explainers.xplique_bridge``) or on a Keras model (``explainers.xplique_keras``).
``nb_design`` must be a power of two (Xplique asserts it: Sobol' sequences are balanced there). The default sampler
is Owen-scrambled Sobol', seeded by the run's seed; "sobol" is Xplique's own default, the unscrambled sequence, the
same masks whatever the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from explainers.base import Cost, Method, Param, Problem
from explainers.sensitivity import PERTURBATION_PARAM, grid_param, in_both_frameworks, sampler, sampler_param


def evaluations(params: dict[str, Any]) -> int:
    """The images Xplique sends through the model: the designs A and B, and one mixed design per cell."""
    return params["nb_design"] * (params["grid_size"] ** 2 + 2)


def builder(problem: Problem, params: dict[str, Any]) -> Callable[[Any, Any], Any]:
    """Xplique's class with the run's parameters, on whichever model it is given."""

    def build(xplique: Any, model: Any) -> Any:
        return xplique.attributions.SobolAttributionMethod(
            model,
            grid_size=params["grid_size"],
            nb_design=params["nb_design"],
            sampler=sampler(xplique, params["sampler"], int(params.get("seed", 0)), replicated=True),
            perturbation_function=params["perturbation_function"],
            batch_size=problem.batch_size,
        )

    return build


attribute, attribute_keras = in_both_frameworks(builder)


METHOD = Method(
    key="sobol",
    name="Sobol",
    family="perturbation",
    backend="xplique",
    params=(
        grid_param(maximum=16),
        Param(
            "nb_design",
            int,
            default=32,
            fast=8,
            minimum=2,
            maximum=256,
            help="Masks per design, a power of two; the model sees nb_design * (grid_size^2 + 2) images.",
            sized=(4, 32),
            power_of_two=True,
        ),
        sampler_param(
            "scrambled sobol",
            "Quasi-Monte Carlo design of the masks: scrambled sobol and latin hypercube follow the seed; sobol "
            "(Xplique's default) and halton are fixed sequences.",
        ),
        PERTURBATION_PARAM,
    ),
    cost=lambda params, _size: Cost(forward=evaluations(params)),
    attribute=attribute,
    keras=attribute_keras,
    question=(
        "How much of the variance of the class score does each region explain, alone or in interaction with the "
        "others? (black box, any model)"
    ),
    paper="Fel et al., Look at the Variance! Sobol-based Sensitivity Analysis, NeurIPS 2021 (arXiv:2111.04138)",
    stochastic=True,
    strengths=(
        "Black box; counts the interactions between regions (a total-order index), which Occlusion's one patch at a "
        "time misses; quasi-Monte Carlo designs estimate the indices with fewer masks than random sampling; the same "
        "Xplique code on PyTorch and Keras models."
    ),
    caveats=(
        "Costly: nb_design * (grid_size^2 + 2) model evaluations (2,112 at the defaults), growing with the square of "
        "the grid; the map has grid_size x grid_size cells, bicubically smoothed, so it cannot resolve anything "
        "smaller than a cell (28 px at 224 px); indices are unsigned (a region that lowers the score is as important "
        "as one that raises it); few designs give noisy indices."
    ),
)
