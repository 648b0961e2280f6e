"""Which family an image classifier belongs to, read from its activations, and whether a method applies to it.

The family is read from the network itself, not from a name, so any Hub id gets one: a network with no attention
module is a CNN (ConvNeXt's channels-last blocks included); with attention, a token sequence with a class (or
distillation, register) token in front makes a ViT-style encoder, and grids without one Swin-style stages
(``explainers.tokens.layout`` on every module's output).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from explainers.base import CNN, SWIN, VIT, Method
from explainers.cam import known_feature_maps
from explainers.tokens import token_grid
from hub_models.errors import UserInputError
from hub_models.keras_models import KERAS, framework_of
from hub_models.loaded_model import LoadedModel

FAMILY_NAMES = {
    CNN: "a CNN",
    VIT: "a ViT-style transformer (global attention with a class token)",
    SWIN: "a Swin-style transformer (windowed attention, no class token)",
}


FRAMEWORK_NAMES = {"pytorch": "PyTorch", KERAS: "Keras"}


def family_of(model: nn.Module, inputs: torch.Tensor) -> str:
    """CNN, ViT or Swin (``explainers.base``), from the layouts of the model's maps of the image (a Keras model: from
    its KerasHub backbone's class)."""
    model = getattr(model, "model", model)  # through a CountingModel
    if framework_of(model) == KERAS:
        name = model.backbone_class.lower()
        return VIT if "vit" in name else SWIN if "swin" in name else CNN
    if not any("Attention" in type(module).__name__ for module in model.modules()):
        return CNN
    maps = known_feature_maps(model, inputs)
    input_size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
    sequences = [maps.shapes[name][1] for name in maps.names if maps.layouts[name] == "tokens"]
    grids = [token_grid(count, input_size) for count in sequences]
    return VIT if any(grid is not None and grid.prefix > 0 for grid in grids) else SWIN


def implementation(method: Method, model: nn.Module) -> Any:
    """The method's implementation for ``model``'s framework (``Method.attribute`` or ``Method.keras``), or None."""
    return method.keras if framework_of(getattr(model, "model", model)) == KERAS else method.attribute


def applicable(methods: dict[str, Method], model: nn.Module, inputs: torch.Tensor) -> list[Method]:
    """The methods of ``methods`` that give a map on ``model``: implemented for its framework, for its family."""
    family = family_of(model, inputs)
    return [m for m in methods.values() if implementation(m, model) is not None and family in m.families]


def check_applies(method: Method, methods: dict[str, Method], model: nn.Module, inputs: torch.Tensor) -> None:
    """Nothing when ``method`` has an implementation for the model's framework and supports its family; otherwise an
    error saying why and naming those that do."""
    framework = framework_of(getattr(model, "model", model))
    if implementation(method, model) is None:
        others = [m.name for m in applicable(methods, model, inputs)]
        raise UserInputError(
            f"{method.name} has no implementation for {FRAMEWORK_NAMES[framework]} models here. Methods that apply to "
            f"this model: {', '.join(others)}."
        )
    if len(method.families) == len(FAMILY_NAMES):
        return  # every family: no need to look at the model
    family = family_of(model, inputs)
    if family in method.families:
        return
    others = [m.name for m in applicable(methods, model, inputs)]
    raise UserInputError(
        f"{method.name} does not apply to this model: it needs {' or '.join(FAMILY_NAMES[f] for f in method.families)}"
        f", and this model is {FAMILY_NAMES[family]}. Methods that apply: {', '.join(others)}."
    )


def frameworks(method: Method) -> str:
    """The frameworks a method has an implementation for, in words ("PyTorch, Keras")."""
    names = [name for name, code in (("PyTorch", method.attribute), ("Keras", method.keras)) if code is not None]
    return ", ".join(names)


def methods_for(model: LoadedModel, methods: dict[str, Method]) -> list[Method]:
    """The methods of ``methods`` that give a map on a loaded classifier (its framework, its family), in table order."""
    height, width = model.preprocessing.input_size
    return applicable(methods, model.module, torch.zeros(1, 3, height, width))
