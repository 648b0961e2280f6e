"""VarGrad (Adebayo et al., 2018): the variance of the input gradients over noisy copies of the input.

``map = mean_c Var_k[g_c(x + eps_k)]``, eps_k ~ N(0, noise^2) in normalised input space, with the unbiased variance
``n / (n - 1) (E[g^2] - E[g]^2)`` over the ``nb_samples`` copies, reduced over the colour channels by their mean:
the semantics of ``xplique.attributions.VarGrad`` (2.0.2), which runs on a Keras model
(``explainers.xplique_bridge``). On a PyTorch model the gradients come from SmoothGrad's own loop
(``explainers.smoothgrad.noisy_gradient_statistics``, the same noise for the same seed); VarGrad only keeps their
squares as well. Non-negative: it shows where the gradient is unstable, not which way the score moves.

Paper: Adebayo, Gilmer, Goodfellow & Kim, Local Explanation Methods for Deep Neural Networks Lack Sensitivity to
Parameter Values, ICLR workshop 2018 (arXiv:1810.03307).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Problem
from explainers.smoothgrad import NB_SAMPLES, NOISE, noisy_gradient_statistics
from explainers.xplique_bridge import keras_runner


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    statistics = noisy_gradient_statistics(problem, params, squares=True)
    unbiased = statistics.count / (statistics.count - 1)
    variance = unbiased * (statistics.mean_of_squares - statistics.mean.square())
    return variance.mean(dim=-1).float().numpy()


METHOD = Method(
    key="vargrad",
    name="VarGrad",
    family="gradient",
    backend="native torch",
    params=(NB_SAMPLES, NOISE),
    cost=lambda params, _size: Cost(backward=params["nb_samples"]),
    attribute=attribute,
    keras=keras_runner("vargrad"),
    strengths="Smooth; with SquareGrad, the estimators that beat a random ranking in Hooker et al.'s ROAR benchmark.",
    caveats=(
        "Unsigned (where the gradient varies, not its direction); its authors' title warns that such maps can barely "
        "depend on the weights: run the sanity check. Costs nb_samples gradients; the noise level sets it."
    ),
    question="Where does the class score's gradient vary most when the image is jittered with noise?",
    paper="Adebayo et al., Local Explanation Methods for Deep Neural Networks Lack Sensitivity to Parameter Values, "
    "ICLR workshop 2018 (arXiv:1810.03307)",
    stochastic=True,
)
