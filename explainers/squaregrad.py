"""SquareGrad (Hooker et al., 2019; SmoothGrad-Squared): the mean of the squared input gradients over noisy copies.

``map = mean_c E_k[g_c(x + eps_k)^2]``, eps_k ~ N(0, noise^2) in normalised input space, over ``nb_samples`` copies,
reduced over the colour channels by their mean: the semantics of ``xplique.attributions.SquareGrad`` (2.0.2), which
runs on a Keras model (``explainers.xplique_bridge``). On a PyTorch model the gradients come from SmoothGrad's own
loop (``explainers.smoothgrad.noisy_gradient_statistics``, the same noise for the same seed). Per channel it is the
squared mean gradient plus the gradient's (biased) variance: large where the gradient is large or unstable, whatever
its sign.

Paper: Hooker, Erhan, Kindermans & Kim, A Benchmark for Interpretability Methods in Deep Neural Networks, NeurIPS 2019
(arXiv:1806.10758): SmoothGrad-Squared and VarGrad were the estimators that beat a random ranking under ROAR (pixels
removed by the map, the model retrained).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Problem
from explainers.smoothgrad import NB_SAMPLES, NOISE, noisy_gradient_statistics
from explainers.xplique_bridge import keras_runner


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return noisy_gradient_statistics(problem, params, squares=True).mean_of_squares.mean(dim=-1).float().numpy()


METHOD = Method(
    key="squaregrad",
    name="SquareGrad",
    family="gradient",
    backend="native torch",
    params=(NB_SAMPLES, NOISE),
    cost=lambda params, _size: Cost(backward=params["nb_samples"]),
    attribute=attribute,
    keras=keras_runner("squaregrad"),
    strengths="Smooth; with VarGrad, the estimators that beat a random ranking in Hooker et al.'s ROAR benchmark.",
    caveats="Squares away the sign (which way the score moves); costs nb_samples gradients; the noise sets it.",
    question="Which pixels carry a large gradient of the class score, on average over noisy copies of the image?",
    paper="Hooker et al., A Benchmark for Interpretability Methods in Deep Neural Networks, NeurIPS 2019 "
    "(arXiv:1806.10758)",
    stochastic=True,
)
