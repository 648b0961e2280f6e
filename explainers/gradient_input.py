"""Gradient x Input (Shrikumar et al., 2016): the input gradient of the class score times the input itself.

``map = mean_c (d score / d x_c) * x_c``: each pixel's first-order (Taylor) share of the score, signed, in normalised
input space (0 is the training set's mean colour, which is therefore the implicit baseline), reduced over the colour
channels by their mean: the semantics of ``xplique.attributions.GradientInput`` (2.0.2), which runs on a Keras
model (``explainers.xplique_bridge``). On a PyTorch model it is one gradient from ``explainers.saliency``'s
``input_gradients``, multiplied by the input. For a linear model it equals Integrated Gradients from the same (zero)
baseline.

Paper: Shrikumar, Greenside, Shcherbina & Kundaje, Not Just a Black Box: Learning Important Features Through
Propagating Activation Differences, arXiv:1605.01713 (2016).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Problem
from explainers.saliency import input_gradients
from explainers.xplique_bridge import keras_runner


def attribute(problem: Problem, _params: dict[str, Any]) -> np.ndarray:
    gradient = input_gradients(problem, problem.inputs)[0]
    return (gradient * problem.inputs[0]).mean(dim=0).float().numpy()


METHOD = Method(
    key="gradient_input",
    name="Gradient x Input",
    family="gradient",
    backend="native torch",
    params=(),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=attribute,
    keras=keras_runner("gradient_input"),
    strengths="One gradient: instant; signed, and sharper than Saliency where the input is strong.",
    caveats=(
        "As noisy as the gradient it multiplies; its implicit baseline is the mean colour (0 in normalised input), so "
        "pixels near it get no credit whatever the model does with them."
    ),
    question="How much does each pixel add to the score, to first order, compared with the mean colour?",
    paper="Shrikumar et al., Not Just a Black Box, arXiv 2016 (arXiv:1605.01713)",
)
