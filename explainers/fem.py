"""FEM, the Feature Explanation Method (Fuad et al., 2020): where a convolutional layer's channels fire unusually
strongly, weighted by how strongly each channel fires overall. Gradient-free and class-agnostic.

For the watched layer's activations ``A_k`` (channel k, over the h x w grid): ``mu_k`` and ``sigma_k``, the channel's
spatial mean and standard deviation; ``B_k = [A_k >= mu_k + k sigma_k]``, the k-sigma rule; the map is
``sum_k mu_k B_k``, resized bicubically to the input. That is ``xplique.attributions.FEM`` (2.0.2), run on a Keras
model (``explainers.xplique_keras.watching_method``) on the layer the CAMs watch (``layer``, blank: the backbone's
last spatial map). No PyTorch implementation: a PyTorch model is offered the CAMs instead.

Paper: Fuad, Martin, Giot, Bourqui, Benois-Pineau & Zemmari, Features Understanding in 3D CNNs for Actions
Recognition in Video, IPTA 2020 (doi:10.1109/IPTA50016.2020.9286629), the reference Xplique's FEM gives.
"""

from __future__ import annotations

from explainers.base import CNN, Cost, Method, Param
from explainers.cam import LAYER_PARAM
from explainers.xplique_keras import watching_method

METHOD = Method(
    key="fem",
    name="FEM",
    family="CAM",
    backend="xplique",
    params=(
        LAYER_PARAM,
        Param(
            "k",
            float,
            default=2.0,
            fast=2.0,
            minimum=0.0,
            maximum=10.0,
            help="A location counts where its channel fires at least k standard deviations above the channel's mean.",
        ),
    ),
    cost=lambda _params, _size: Cost(forward=1),
    attribute=None,
    keras=watching_method("FEM", "k"),
    families=(CNN,),
    strengths="One forward pass, no gradient: immune to saturated or noisy gradients; blob-like, readable maps.",
    caveats=(
        "Class-agnostic: the same map for every class (it shows what the layer finds salient, not why this class "
        "won); as coarse as the layer's grid; Keras models only here."
    ),
    question="Where do the last feature map's channels fire unusually strongly, whatever the class?",
    paper="Fuad et al., Features Understanding in 3D CNNs for Actions Recognition in Video, IPTA 2020 "
    "(doi:10.1109/IPTA50016.2020.9286629)",
)
