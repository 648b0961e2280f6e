"""Class activation maps with our own PyTorch hooks (Xplique's Grad-CAM does not run on PyTorch models).

The base owns what every CAM variant needs: choosing the target layer, capturing its activation with a hook that
is always removed (``hub_models.hooks``), and the gradient of the class score with respect to that activation. A
variant only says how to weight the channels.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explainers.base import Param, Problem
from explainers.counting import CountingModel
from explainers.tokens import as_feature_map, layout
from hub_models.errors import UserInputError, shown
from hub_models.hooks import temporary_hooks

LAYER_PARAM = Param(
    "layer",
    str,
    default="",
    fast="",
    help=(
        "Module name of the feature map to explain (blank: the last spatial feature map of a CNN; the last block's "
        "first norm of a vision transformer). On a Keras model, a layer name (blank: the backbone's last spatial map)."
    ),
)
FIRST_NORMS = ("norm1", "layernorm_before", "ln_1")
"""The last names of a transformer block's first norm in timm (ViT, DeiT, Swin, EVA), transformers (ViT, DeiT,
Swin, BEiT; DINOv2 says norm1) and CLIP-style models: pytorch-grad-cam's ViT tutorial explains the last one."""


def _inner(model: nn.Module) -> nn.Module:
    """The model itself, not our counting wrapper: its module names are the ones the user knows."""
    return model.model if isinstance(model, CountingModel) else model


@dataclass(frozen=True)
class FeatureMaps:
    """The modules whose output is a spatial map of the image (``explainers.tokens.layout``), in execution order
    (``names``), every module name returning one with its layout (``layouts``) and shape, and the default to
    explain."""

    names: list[str]
    layouts: dict[str, str]
    shapes: dict[str, tuple[int, ...]]
    default: str | None


def feature_maps(model: nn.Module, inputs: torch.Tensor) -> FeatureMaps:
    """One forward pass with a hook on every module, recording which outputs are maps of the image.

    One tensor passed on unchanged (a container returning its last child's output, an in-place activation) is
    listed once, under the last leaf module that produced it (``features.18.2``, not ``features.18.1`` before an
    in-place ReLU, nor the container ``features``). A container is listed only for a tensor it computes itself.
    The default is a transformer's last block's first norm (``FIRST_NORMS``), else the last map.
    """
    input_size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
    outputs: dict[int, tuple[str, torch.Tensor]] = {}  # keeps each output alive, so ids are not reused
    every: dict[str, torch.Tensor] = {}

    def record(module: nn.Module, name: str, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.ndim in (3, 4):
            if layout(tuple(output.shape), input_size, strict=False) is None:
                return
            every[name] = output
            if next(module.children(), None) is None or id(output) not in outputs:
                outputs[id(output)] = (name, output)

    with temporary_hooks() as hooks, torch.no_grad():
        for name, module in _inner(model).named_modules():
            if name:
                hooks.forward(module, lambda m, _i, output, name=name: record(m, name, output))
        model(inputs)
    loose = {name: layout(tuple(t.shape), input_size, strict=False) for name, t in every.items()}
    # A network with token sequences: only exact grids, or its attention matrices (N x N) would pass as square maps.
    strict = any(kind != "channels-first" for kind in loose.values())
    layouts = {
        name: kind
        for name, t in every.items()
        if (kind := layout(tuple(t.shape), input_size, strict=strict) if strict else loose[name]) is not None
    }
    names = [name for name, _ in outputs.values() if name in layouts]
    norms = [name for name in names if name.rsplit(".", 1)[-1] in FIRST_NORMS and layouts[name] != "channels-first"]
    default = norms[-1] if norms else (names[-1] if names else None)
    return FeatureMaps(names, layouts, {name: tuple(every[name].shape) for name in layouts}, default)


_layers: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], FeatureMaps]] = weakref.WeakKeyDictionary()
_layers_lock = threading.Lock()


def known_feature_maps(model: nn.Module, inputs: torch.Tensor) -> FeatureMaps:
    """``feature_maps`` found once per model and input shape, by a forward pass of the model itself (not counted
    as one of a method's evaluations): a CAM then costs one forward and one backward pass, as its cost model says."""
    inner = _inner(model)
    shape = tuple(inputs.shape)
    with _layers_lock:
        known = _layers.setdefault(inner, {})
        if shape not in known:
            known[shape] = feature_maps(inner, inputs)
        return known[shape]


def resolve_layer(model: nn.Module, inputs: torch.Tensor, requested: str) -> str:
    """The requested layer if it is a spatial map of the image, else the default; a clear error if it is not."""
    maps = known_feature_maps(model, inputs)
    if maps.default is None:
        raise UserInputError(
            "This model has no layer whose output is a spatial map of the image (a CNN feature map or a vision "
            "transformer's patch tokens), so CAM methods do not apply to it. Use RISE, Occlusion, Integrated "
            "Gradients or LIME: they work on any model."
        )
    if not requested:
        return maps.default
    if requested not in maps.layouts:
        raise UserInputError(
            f"Layer {shown(requested)} is not a spatial map of the image in this model. "
            f"Choose one of the last few: {', '.join(_suggestions(maps))}."
        )
    return requested


def _suggestions(maps: FeatureMaps) -> list[str]:
    """The default first, then the last few maps."""
    return list(dict.fromkeys([maps.default, *maps.names[-5:]]))


@contextmanager
def captured_activation(
    model: nn.Module, layer: str, *, differentiable: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """Records the output of ``layer`` during the forward passes inside the block; the hook is always removed.

    ``differentiable``: the recorded activation is a fresh leaf that requires grad, and the layers after it compute
    on a copy of it. The gradient of a score with respect to it then needs no graph of the layers before it (the
    weights are frozen), so those run as plain inference: Grad-CAM's pass costs little more than a forward.
    """
    store: dict[str, torch.Tensor] = {}
    module = _inner(model).get_submodule(layer)

    def record(_module: nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor | None:
        if not differentiable:
            store["activation"] = output
            return None
        store["activation"] = output.detach().requires_grad_(True)
        return store["activation"].clone()  # later in-place operations must not touch the leaf

    with temporary_hooks() as hooks:
        hooks.forward(module, record)
        yield store


ChannelWeights = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def class_activation_map(problem: Problem, layer: str, channel_weights: ChannelWeights) -> np.ndarray:
    """ReLU(sum_k w_k A_k) upsampled to the input size; ``channel_weights(activation, gradient)`` gives w (1xKx1x1).

    A transformer's activation is first made a ``(1, C, h, w)`` map (``explainers.tokens.as_feature_map``: prefix
    tokens dropped, patches laid out on the input's grid), as pytorch-grad-cam's reshape transform does.
    """
    model = problem.model
    name = resolve_layer(model, problem.inputs, layer)
    kind = known_feature_maps(model, problem.inputs).layouts[name]
    input_size = (int(problem.inputs.shape[-2]), int(problem.inputs.shape[-1]))
    with captured_activation(model, name, differentiable=True) as store, torch.enable_grad():
        # Channels-last: MobileNet-style CNNs run faster on CPU with NHWC memory, even for one image (125 vs 103 img/s).
        score = model(problem.inputs.contiguous(memory_format=torch.channels_last))[0, problem.target]
        activation = store["activation"]
        (gradient,) = torch.autograd.grad(score, activation, allow_unused=True)
    with torch.no_grad():
        activation = as_feature_map(activation, kind, input_size)
        gradient = as_feature_map(gradient, kind, input_size) if gradient is not None else None
    if gradient is None or not bool(gradient.any()):
        raise _blank_map(model, problem.inputs, name)
    with torch.no_grad():
        weights = channel_weights(activation, gradient)
        cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=problem.inputs.shape[-2:], mode="bilinear", align_corners=False)
    return cam[0, 0].cpu().numpy().astype(np.float32)


def _blank_map(model: nn.Module, inputs: torch.Tensor, name: str) -> UserInputError:
    """Every gradient at the layer's map is zero: say so, and name a layer that works."""
    default = resolve_layer(model, inputs, "")
    advice = f"Use the default layer, {default}" if default != name else "Use RISE or Integrated Gradients"
    return UserInputError(
        f"Every gradient of the class score with respect to the map of layer {name} is zero: the score does not "
        "depend on it (in a vision transformer, patch tokens after the last attention reach a class-token head "
        f"only through the class token), so its CAM would be blank. {advice}."
    )
