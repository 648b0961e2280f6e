"""Which family an image classifier belongs to, read from its activations, and whether a method applies to it.

The family is read from the network itself, not from a name, so any Hub id gets one: a network with no attention
module is a CNN (ConvNeXt's channels-last blocks included); with attention, a token sequence with a class (or
distillation, register) token in front makes a ViT-style encoder, and grids without one Swin-style stages
(``explainers.tokens.layout`` on every module's output).
"""

from __future__ import annotations

import torch
from torch import nn

from explainers.base import CNN, SWIN, VIT, Method
from explainers.cam import known_feature_maps
from explainers.tokens import token_grid
from hub_models.errors import UserInputError

FAMILY_NAMES = {
    CNN: "a CNN",
    VIT: "a ViT-style transformer (global attention with a class token)",
    SWIN: "a Swin-style transformer (windowed attention, no class token)",
}


def family_of(model: nn.Module, inputs: torch.Tensor) -> str:
    """CNN, ViT or Swin (``explainers.base``), from the layouts of the model's maps of the image."""
    if not any("Attention" in type(module).__name__ for module in model.modules()):
        return CNN
    maps = known_feature_maps(model, inputs)
    input_size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
    sequences = [maps.shapes[name][1] for name in maps.names if maps.layouts[name] == "tokens"]
    grids = [token_grid(count, input_size) for count in sequences]
    return VIT if any(grid is not None and grid.prefix > 0 for grid in grids) else SWIN


def check_applies(method: Method, methods: dict[str, Method], model: nn.Module, inputs: torch.Tensor) -> None:
    """Nothing when ``method`` supports the model's family; otherwise an error saying why and naming those that do."""
    if len(method.families) == len(FAMILY_NAMES):
        return  # every family: no need to look at the model
    family = family_of(model, inputs)
    if family in method.families:
        return
    others = [m.name for m in methods.values() if family in m.families]
    raise UserInputError(
        f"{method.name} does not apply to this model: it needs {' or '.join(FAMILY_NAMES[f] for f in method.families)}"
        f", and this model is {FAMILY_NAMES[family]}. Methods that apply: {', '.join(others)}."
    )
