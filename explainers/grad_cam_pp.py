"""Grad-CAM++ (Chattopadhyay et al., 2018): positive gradients weighted per pixel, better for several objects."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.base import Cost, Method, Problem
from explainers.cam import LAYER_PARAM, class_activation_map


def plus_plus_weights(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """The closed-form alpha of the paper, with the exponential-score approximation of higher derivatives."""
    squared, cubed = gradient**2, gradient**3
    activation_sum = activation.sum(dim=(2, 3), keepdim=True)
    denominator = 2 * squared + activation_sum * cubed
    alpha = squared / torch.where(denominator != 0, denominator, torch.ones_like(denominator))
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
    strengths="Covers several instances of the class better than Grad-CAM; as cheap.",
    caveats="Same coarse grid and layer needs as Grad-CAM; its weighting can saturate on very confident scores.",
    question="Like Grad-CAM, but fairer to several instances of the class in one image.",
    paper="Chattopadhyay et al., Grad-CAM++, WACV 2018 (arXiv:1710.11063)",
)
