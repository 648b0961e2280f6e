"""DeconvNet (Zeiler & Fergus, 2014): the class score projected back to the input, every ReLU passing back only the
positive part of the gradient, whatever its input was.

At each ReLU the backward pass sends ``g * [g > 0]`` (the plain gradient sends ``g * [x > 0]``; Guided Backprop
both); the map is that projection of the class score at the input, reduced over the colour channels by their mean.
That is ``xplique.attributions.DeconvNet`` (2.0.2), run on a Keras model (``explainers.xplique_keras.relu_method``):
Xplique clones the model and replaces the gradient of each layer that is a ``ReLU`` or has a ``relu`` activation. A
model with none is refused: the map would be the plain gradient. No PyTorch implementation here.

Paper: Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014 (arXiv:1311.2901).
"""

from __future__ import annotations

from explainers.base import Cost, Method
from explainers.xplique_keras import relu_method

METHOD = Method(
    key="deconvnet",
    name="DeconvNet",
    family="gradient",
    backend="xplique",
    params=(),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=None,
    keras=relu_method("DeconvNet", "DeconvNet"),
    strengths="One modified gradient: instant; shows the image patterns the network's features respond to.",
    caveats=(
        "Ignores which ReLUs were active on this image, so it reflects the image's patterns more than this decision; "
        "barely class-discriminative; networks with ReLU only; Keras models only here."
    ),
    question="Which image patterns do the features behind the class score respond to? (projected back through ReLUs)",
    paper="Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014 (arXiv:1311.2901)",
)
