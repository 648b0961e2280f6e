"""Batch norms folded into the convolutions that feed them, once, when a model loads.

In eval mode a batch norm is a fixed per-channel affine map, so a convolution followed by one is a single
convolution with rescaled weights and a bias: the same function to float rounding, one pass over memory fewer in
every forward and backward pass. MobileNetV2 has 52 such pairs; folded it runs 1.2x faster at batch 1 and 1.4x at
batch 16 on this 2-core CPU, and so does every explainer on it (``benchmarks/RESULTS.md``).

Pairs are found by running the model once, not from module names: a batch norm is folded only when its input is the
very tensor a convolution returned, and both run exactly once per forward pass. A pass with the folded model must
then give the same output, or every pair is put back: a model whose convolution output is also used elsewhere (a
skip connection before the norm) or whose convolution transforms its weights in ``forward`` stays as published.

Layer names are kept: a folded norm becomes an ``nn.Identity`` (timm's ``BatchNormAct2d`` keeps its activation), so a
CAM asked for the norm's name explains the same map as before. The convolution's name now gives the map after the
norm. ``XAI_FOLD_BATCH_NORM=0`` loads models as published.
"""

from __future__ import annotations

import os

import torch
import torchvision.ops
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from hub_models.hooks import temporary_hooks

AFFINE_NORMS = (nn.BatchNorm2d, torchvision.ops.FrozenBatchNorm2d)
"""Norms that are exactly ``(x - running_mean) / sqrt(running_var + eps) * weight + bias`` in eval mode."""

ATOL_SHARE = 1e-4
"""The folded model's outputs may differ from the published one's by this share of the largest output (float32
rounding of rescaled weights is about 1e-6 of it), and by 1e-3 relatively."""


def folding_enabled() -> bool:
    """``XAI_FOLD_BATCH_NORM`` (default on): read at every load, so a benchmark can load both forms."""
    return os.environ.get("XAI_FOLD_BATCH_NORM", "1").strip().lower() not in ("0", "false", "no", "off")


def _without_norm(norm: nn.Module) -> nn.Module:
    """What replaces a folded norm: nothing, or the activation (and dropout) timm's ``BatchNormAct2d`` applies."""
    return nn.Identity() if type(norm) in AFFINE_NORMS else nn.Sequential(norm.drop, norm.act)


def _foldable_norm(module: nn.Module) -> bool:
    if type(module) in AFFINE_NORMS:
        return isinstance(module, torchvision.ops.FrozenBatchNorm2d) or module.track_running_stats
    # timm's BatchNormAct2d: a BatchNorm2d followed by its own dropout and activation, by name and structure.
    return (
        type(module).__name__ == "BatchNormAct2d"
        and isinstance(module, nn.BatchNorm2d)
        and module.track_running_stats
        and isinstance(getattr(module, "drop", None), nn.Module)
        and isinstance(getattr(module, "act", None), nn.Module)
    )


def _pairs(module: nn.Module, inputs: torch.Tensor) -> tuple[list[tuple[str, str]], object]:
    """(convolution, norm) names whose norm reads the convolution's output, each run once; and the model's output."""
    outputs: dict[int, tuple[str, torch.Tensor]] = {}  # keeps each output alive, so ids are not reused
    feeds: dict[str, torch.Tensor] = {}  # each norm's input, kept alive for the same reason
    calls: dict[str, int] = {}

    def conv_ran(name: str, output: torch.Tensor) -> None:
        calls[name] = calls.get(name, 0) + 1
        outputs[id(output)] = (name, output)

    def norm_ran(name: str, inputs: tuple[object, ...]) -> None:
        calls[name] = calls.get(name, 0) + 1
        feeds[name] = inputs[0]

    with temporary_hooks() as hooks, torch.no_grad():
        for name, layer in module.named_modules():
            if isinstance(layer, nn.Conv2d):
                hooks.forward(layer, lambda _m, _i, out, name=name: conv_ran(name, out))
            elif _foldable_norm(layer):
                hooks.forward_pre(layer, lambda _m, args, name=name: norm_ran(name, args))
        output = module(inputs)
    pairs = []
    for norm, fed_by in feeds.items():
        conv = outputs.get(id(fed_by), (None,))[0]
        if conv is not None and calls[conv] == 1 and calls[norm] == 1:
            pairs.append((conv, norm))
    return pairs, output


def _replace(module: nn.Module, name: str, replacement: nn.Module) -> None:
    parent, _, attribute = name.rpartition(".")
    setattr(module.get_submodule(parent) if parent else module, attribute, replacement)


def _same(before: object, after: object) -> bool:
    if not (torch.is_tensor(before) and torch.is_tensor(after)) or before.shape != after.shape:
        return False
    scale = float(before.abs().max()) if before.numel() else 0.0
    return bool(torch.allclose(after, before, rtol=1e-3, atol=ATOL_SHARE * scale + 1e-6))


def fold_batch_norms(module: nn.Module, input_size: tuple[int, int]) -> list[tuple[str, str]]:
    """Folds every batch norm of ``module`` (in eval mode) into the convolution that feeds it, in place.

    Returns the (convolution, norm) names folded: none when the model has no such pair, when its output is not a
    tensor (nothing to compare), or when the folded model's output differs from the published one's.
    """
    if not folding_enabled() or not any(_foldable_norm(layer) for layer in module.modules()):
        return []  # no forward pass for a model without batch norms (a vision transformer)
    probe = torch.randn(1, 3, *input_size, generator=torch.Generator().manual_seed(0))
    pairs, before = _pairs(module, probe)
    if not pairs or not torch.is_tensor(before):
        return []
    published: list[tuple[nn.Conv2d, nn.Parameter, nn.Parameter | None, str, nn.Module]] = []
    with torch.no_grad():
        for conv_name, norm_name in pairs:
            conv, norm = module.get_submodule(conv_name), module.get_submodule(norm_name)
            published.append((conv, conv.weight, conv.bias, norm_name, norm))
            weight, bias = fuse_conv_bn_weights(
                conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps, norm.weight, norm.bias
            )
            conv.weight, conv.bias = weight.requires_grad_(False), bias.requires_grad_(False)
            _replace(module, norm_name, _without_norm(norm))
        if _same(before, module(probe)):
            return pairs
        for conv, weight, bias, norm_name, norm in published:
            conv.weight, conv.bias = weight, bias
            _replace(module, norm_name, norm)
    return []
