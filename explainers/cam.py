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

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explainers.base import Param, Problem
from explainers.counting import CountingModel
from hub_models.errors import UserInputError, shown
from hub_models.hooks import temporary_hooks

LAYER_PARAM = Param(
    "layer",
    str,
    default="",
    fast="",
    help="Module name of the feature map to explain (blank: the last spatial feature map).",
)


def _inner(model: nn.Module) -> nn.Module:
    """The model itself, not our counting wrapper: its module names are the ones the user knows."""
    return model.model if isinstance(model, CountingModel) else model


def spatial_layers(model: nn.Module, inputs: torch.Tensor) -> tuple[list[str], set[str]]:
    """Modules whose output is a 4-D feature map larger than 1x1: one name per map in execution order, and the
    set of every module name that returns one of those maps.

    One tensor passed on unchanged (a container returning its last child's output, an in-place activation) is
    listed once, under the last leaf module that produced it (``features.18.2``, not ``features.18.1`` before an
    in-place ReLU, nor the container ``features``). A container is listed only for a tensor it computes itself.
    """
    seen: dict[int, tuple[str, torch.Tensor]] = {}  # keeps each output alive, so ids are not reused
    every: set[str] = set()

    def record(module: nn.Module, name: str, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.ndim == 4 and output.shape[-1] * output.shape[-2] > 1:
            every.add(name)
            is_leaf = next(module.children(), None) is None
            if is_leaf or id(output) not in seen:
                seen[id(output)] = (name, output)

    with temporary_hooks() as hooks, torch.no_grad():
        for name, module in _inner(model).named_modules():
            if name:
                hooks.forward(module, lambda m, _i, output, name=name: record(m, name, output))
        model(inputs)
    return [name for name, _ in seen.values()], every


_layers: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], tuple[list[str], set[str]]]] = (
    weakref.WeakKeyDictionary()
)
_layers_lock = threading.Lock()


def known_spatial_layers(model: nn.Module, inputs: torch.Tensor) -> tuple[list[str], set[str]]:
    """``spatial_layers`` found once per model and input shape, by a forward pass of the model itself (not counted
    as one of a method's evaluations): a CAM then costs one forward and one backward pass, as its cost model says."""
    inner = _inner(model)
    shape = tuple(inputs.shape)
    with _layers_lock:
        known = _layers.setdefault(inner, {})
        if shape not in known:
            known[shape] = spatial_layers(inner, inputs)
        return known[shape]


def resolve_layer(model: nn.Module, inputs: torch.Tensor, requested: str) -> str:
    """The requested layer if it is a spatial feature map, else the last one; a clear error if it is not."""
    candidates, every = known_spatial_layers(model, inputs)
    if not candidates:
        raise UserInputError(
            "This model has no spatial feature map (no layer outputs a 4-D map, as in a vision transformer), so "
            "CAM methods do not apply to it. Use RISE, Occlusion, Integrated Gradients or LIME: they work on any model."
        )
    if not requested:
        return candidates[-1]
    if requested not in every:
        raise UserInputError(
            f"Layer {shown(requested)} is not a spatial feature map of this model. "
            f"Choose one of the last few: {', '.join(candidates[-5:])}."
        )
    return requested


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
    """ReLU(sum_k w_k A_k) upsampled to the input size; ``channel_weights(activation, gradient)`` gives w (1xKx1x1)."""
    model = problem.model
    name = resolve_layer(model, problem.inputs, layer)
    with captured_activation(model, name, differentiable=True) as store, torch.enable_grad():
        # Channels-last: MobileNet-style CNNs run faster on CPU with NHWC memory, even for one image (125 vs 103 img/s).
        score = model(problem.inputs.contiguous(memory_format=torch.channels_last))[0, problem.target]
        activation = store["activation"]
        (gradient,) = torch.autograd.grad(score, activation)
    with torch.no_grad():
        weights = channel_weights(activation, gradient)
        cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=problem.inputs.shape[-2:], mode="bilinear", align_corners=False)
    return cam[0, 0].cpu().numpy().astype(np.float32)
