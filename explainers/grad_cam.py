"""Grad-CAM (Selvaraju et al., 2017): channels weighted by their spatially averaged gradient.

On a PyTorch model: our hooks (``explainers.cam``). On a Keras model: Xplique's ``GradCAM`` on the layer
``explainers.xplique_keras.watched_layer_name`` resolves (blank: the backbone's last spatial map).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Problem
from explainers.cam import LAYER_PARAM, class_activation_map
from explainers.xplique_keras import watching_method


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return class_activation_map(
        problem, params["layer"], lambda _activation, gradient: gradient.mean(dim=(2, 3), keepdim=True)
    )


METHOD = Method(
    key="gradcam",
    name="Grad-CAM",
    family="CAM",
    backend="native torch",
    params=(LAYER_PARAM,),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=attribute,
    keras=watching_method("GradCAM"),
    strengths="Class-discriminative, sharp enough for objects, one forward and backward pass: instant.",
    caveats=(
        "Coarse (the last feature map's grid, 7x7 on MobileNetV2); needs a CNN-like spatial layer; blind to "
        "evidence the last layer does not keep."
    ),
    question="Which regions of the last feature map raise this class's score?",
    paper="Selvaraju et al., Grad-CAM, ICCV 2017 (arXiv:1610.02391)",
)
