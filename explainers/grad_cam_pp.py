"""Grad-CAM++ (Chattopadhyay et al., 2018): positive gradients weighted per pixel, better for several objects.

On a PyTorch model: our hooks (``explainers.cam``). On a Keras model: Xplique's ``GradCAMPP`` on the layer
``explainers.xplique_keras.watched_layer_name`` resolves (its own zero guard, ``plus_plus_weights`` explains).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.base import Cost, Method, Problem
from explainers.cam import LAYER_PARAM, class_activation_map
from explainers.xplique_keras import watching_method

EPSILON = 1e-6


def plus_plus_weights(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """w_k = sum_ij alpha_ij relu(g_ij), alpha = g^2 / (2 g^2 + sum_ab A_ab g^3 + eps): the closed form of the
    paper (eq. 19, the exponential-score approximation of higher derivatives), 0 where g = 0.

    The ``eps`` (1e-6) is pytorch-grad-cam's guard, kept so that the two agree on every model: Xplique's guard only
    replaces a zero denominator, which gives the same maps where gradients are above ~1e-3 but lets channels with
    gradients of numerical-noise size weigh 1/2 each (a random-weight ViT: 0.74 correlation between the two guards).
    """
    squared, cubed = gradient**2, gradient**3
    activation_sum = activation.sum(dim=(2, 3), keepdim=True)
    alpha = torch.where(gradient != 0, squared / (2 * squared + activation_sum * cubed + EPSILON), 0.0)
    return (alpha * torch.relu(gradient)).sum(dim=(2, 3), keepdim=True)


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return class_activation_map(problem, params["layer"], plus_plus_weights)


METHOD = Method(
    key="gradcampp",
    name="Grad-CAM++",
    family="CAM",
    backend="native torch",
    params=(LAYER_PARAM,),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=attribute,
    keras=watching_method("GradCAMPP"),
    strengths="Covers several instances of the class better than Grad-CAM; as cheap.",
    caveats="Same coarse grid and layer needs as Grad-CAM; its weighting can saturate on very confident scores.",
    question="Like Grad-CAM, but fairer to several instances of the class in one image.",
    paper="Chattopadhyay et al., Grad-CAM++, WACV 2018 (arXiv:1710.11063)",
)
