"""Guided Backpropagation (Springenberg et al., 2015): the input gradient with every ReLU passing back only positive
gradients, and only where its input was positive.

At each ReLU the backward pass sends ``g * [x > 0] * [g > 0]`` (the plain gradient sends ``g * [x > 0]``); the map is
that modified gradient of the class score at the input, reduced over the colour channels by their mean. That is
``xplique.attributions.GuidedBackprop`` (2.0.2), run on a Keras model (``explainers.xplique_keras.relu_method``):
Xplique clones the model and replaces the gradient of each layer that is a ``ReLU`` or has a ``relu`` activation.
A model with none is refused: the map would be the plain gradient. No PyTorch implementation here.

Adebayo et al. (Sanity Checks for Saliency Maps, NeurIPS 2018) found its maps nearly unchanged when the model's
weights are randomised: it reconstructs the image's edges more than it explains the class (the sanity check in the
Compare tab shows this).

Paper: Springenberg, Dosovitskiy, Brox & Riedmiller, Striving for Simplicity: The All Convolutional Net, ICLR
workshop 2015 (arXiv:1412.6806).
"""

from __future__ import annotations

from explainers.base import Cost, Method
from explainers.xplique_keras import relu_method

METHOD = Method(
    key="guided_backprop",
    name="Guided Backprop",
    family="gradient",
    backend="xplique",
    params=(),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=None,
    keras=relu_method("GuidedBackprop", "Guided Backprop"),
    strengths="One modified gradient: instant, sharp, pixel-level images of the features that fire.",
    caveats=(
        "Fails the sanity check (Adebayo et al. 2018): barely changes when the weights are randomised, and is "
        "hardly class-discriminative; networks with ReLU only; Keras models only here."
    ),
    question="Which pixels excite the features that raise the class score? (gradient through ReLUs, positive only)",
    paper="Springenberg et al., Striving for Simplicity: The All Convolutional Net, ICLR workshop 2015 "
    "(arXiv:1412.6806)",
)
