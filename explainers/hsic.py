"""HSIC attribution (Novello et al., 2022): how strongly the class score depends on each grid cell, run by Xplique.

Rule: the image is cut into a ``grid_size`` x ``grid_size`` grid and ``N = nb_design`` binary masks switch its cells
on or off (``explainers.sensitivity``: the masks, the perturbation and the samplers). With ``f(M_j)`` the class score
of the ``j``-th perturbed image, each cell ``i`` gets the Hilbert-Schmidt Independence Criterion between its on/off
variable and the score::

    HSIC_i = tr(K_i H L H) / N,    H = I - 11^T / N
    K_i[j, k] = 1 + (1/2 if M_ji = M_ki else -1/2)              (a kernel on the cell's state)
    L[j, k] = exp(-(f(M_j) - f(M_k))^2 / (2 w^2)),  w = median f  (an RBF kernel on the scores)

It is 0 when the score is independent of the cell and grows with any dependence, linear or not, including through
interactions with other cells. Only ``N`` images go through the model, however fine the grid: the cost does not
grow with the number of cells, unlike Sobol's ``N * (cells + 2)``.

Paper: P. Novello, T. Fel, D. Vigouroux, "Making Sense of Dependence: Efficient Black-box Explanations Using
Dependence Measure", NeurIPS 2022 (arXiv:2206.06219).

Implementation: ``xplique.attributions.HsicAttributionMethod``, on a PyTorch model through Xplique's ``TorchWrapper``
(``explainers.xplique_bridge``) or on a Keras model (``explainers.xplique_keras``). Its estimator is Xplique's binary
estimator (Xplique normalises by ``N`` rather than the textbook ``N^2``: the map's scale, not its shape) in closed
form: its kernel is ``K_i[j, k] = 3/2 - (m_ji - m_ki)^2`` and ``Lc = H L H`` sums to 0 along every row and column, so

    HSIC_i = sum_jk K_i[j, k] Lc[j, k] / N = 2 m_i^T Lc m_i / N     (m_i: the cell's N mask values)

which takes O(N^2) per cell where Xplique's ``BinaryEstimator`` multiplies N x N matrices for every cell, O(N^3)
(seconds at 500 designs, minutes at 1,500 on a small CPU: ``benchmarks/RESULTS.md``, issue 19); the scores agree to
float rounding (``tests/test_sobol_hsic.py``). The default sampler is the paper's Latin hypercube, seeded by the
run's seed (Xplique's own default is an unscrambled Sobol' sequence, "sobol" here).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from explainers.base import Cost, Method, Param, Problem
from explainers.sensitivity import PERTURBATION_PARAM, grid_param, in_both_frameworks, sampler, sampler_param
from hub_models.tensorflow_runtime import import_tensorflow


@functools.cache
def closed_form_estimator(xplique: ModuleType) -> type:
    """Xplique's ``BinaryEstimator`` (RBF kernel on the scores, median width) with its estimate in closed form."""
    tf = import_tensorflow()

    class ClosedFormBinaryEstimator(xplique.attributions.global_sensitivity_analysis.BinaryEstimator):
        def estimator(self, masks: Any, gram: Any, _nb_dim: Any, nb_design: Any) -> Any:
            """``2 m_i^T (H L H) m_i / N`` for every cell ``i`` (``gram``: ``L``), cells in Xplique's (h w c) order."""
            cells = tf.reshape(tf.cast(masks, tf.float32), (tf.shape(masks)[0], -1))  # N x cells
            rows, columns = tf.reduce_mean(gram, axis=1, keepdims=True), tf.reduce_mean(gram, axis=0, keepdims=True)
            centred = gram - rows - columns + tf.reduce_mean(gram)
            return 2.0 * tf.reduce_sum(cells * tf.matmul(centred, cells), axis=0) / tf.cast(nb_design, tf.float32)

    return ClosedFormBinaryEstimator


def builder(problem: Problem, params: dict[str, Any]) -> Callable[[Any, Any], Any]:
    """Xplique's class with the run's parameters, on whichever model it is given."""

    def build(xplique: Any, model: Any) -> Any:
        return xplique.attributions.HsicAttributionMethod(
            model,
            grid_size=params["grid_size"],
            nb_design=params["nb_design"],
            sampler=sampler(xplique, params["sampler"], int(params.get("seed", 0)), replicated=False),
            estimator=closed_form_estimator(xplique)(output_kernel="rbf"),
            perturbation_function=params["perturbation_function"],
            batch_size=problem.batch_size,
        )

    return build


attribute, attribute_keras = in_both_frameworks(builder)


METHOD = Method(
    key="hsic",
    name="HSIC",
    family="perturbation",
    backend="xplique",
    params=(
        grid_param(maximum=32),
        Param(
            "nb_design",
            int,
            default=500,
            fast=200,
            minimum=4,
            maximum=3000,
            help="Random on/off masks: the model sees nb_design images, whatever the grid size.",
            sized=(100, 1500),
        ),
        sampler_param(
            "latin hypercube",
            "Design of the masks: latin hypercube (the paper's) and scrambled sobol follow the seed; sobol (Xplique's "
            "default) and halton are fixed sequences.",
        ),
        PERTURBATION_PARAM,
    ),
    cost=lambda params, _size: Cost(forward=params["nb_design"]),
    attribute=attribute,
    keras=attribute_keras,
    question=(
        "How strongly does the class score depend on each region being visible, linearly or not, alone or with "
        "others? (black box, any model)"
    ),
    paper="Novello et al., Making Sense of Dependence: HSIC attribution, NeurIPS 2022 (arXiv:2206.06219)",
    stochastic=True,
    strengths=(
        "Black box; one model evaluation per mask whatever the grid, so a finer grid costs no more forward passes "
        "(Sobol needs grid_size^2 + 2 per design); catches non-linear dependence and interactions; the same Xplique "
        "code on PyTorch and Keras models."
    ),
    caveats=(
        "The map has grid_size x grid_size cells, bicubically smoothed: nothing smaller than a cell shows; scores are "
        "unsigned (dependence, not direction) and have no absolute scale; a few hundred masks leave noise (compare "
        "two seeds); binary on/off masks only: no partial perturbation."
    ),
)
