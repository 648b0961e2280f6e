"""A vision transformer's attention probabilities, recorded for one run: what rollout and Chefer's method read.

timm's ``Attention`` (and EVA's, BEiT's, Swin's) runs ``F.scaled_dot_product_attention`` when its ``fused_attn`` flag
is set, and transformers' models run SDPA by default: neither ever materialises the softmax probabilities. For the
run only, ``recorded_attention`` switches every such module of the model to its eager path (timm: ``fused_attn =
False``; transformers: ``PreTrainedModel.set_attn_implementation("eager")``) and records each block's probabilities
``(B, heads, N, N)`` in execution order: timm's from the output of the block's ``attn_drop`` (the softmax, applied
after it), transformers' from the ``attn_weights`` its attention module returns (the class its model names under
``_can_record_outputs["attentions"]``). The recorded tensors are the ones the block multiplies the values with, so
their gradients (``AttentionRecord.gradients``) are the score's sensitivity to each probability. Flags, attention
implementations and hooks are restored when the block ends, also when the model raises or the run is cancelled.

Runs that record attention are serialised (one lock): two at once on the same model would each record the other's
forward passes, and the first to finish would switch the model back under the second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explainers.base import CNN, SWIN, Problem
from explainers.tokens import TokenGrid, token_grid
from hub_models.errors import UserInputError
from hub_models.hooks import temporary_hooks

_recording = threading.Lock()


@dataclass
class AttentionRecord:
    """What one ``recorded_attention`` block saw: each attention module's name (in the model the user knows, inside
    our counting wrapper) and probabilities, in execution order."""

    names: list[str] = field(default_factory=list)
    probabilities: list[torch.Tensor] = field(default_factory=list)

    def gradients(self, score: torch.Tensor) -> list[torch.Tensor]:
        """d score / d probabilities, one tensor per recorded block (the run must have built a graph: some input of
        the model requires grad, and grad mode was on)."""
        return list(torch.autograd.grad(score, self.probabilities))


def _timm_attention(module: nn.Module) -> bool:
    """A timm attention module: it has the ``fused_attn`` switch and applies ``attn_drop`` to the probabilities."""
    return isinstance(getattr(module, "fused_attn", None), bool) and isinstance(
        getattr(module, "attn_drop", None), nn.Dropout
    )


def _transformers_attention(model: nn.Module) -> list[tuple[str, nn.Module, int]]:
    """Every attention module of the transformers models inside ``model``, in order, with the index of the
    probabilities in its output tuple, from each model's ``_can_record_outputs["attentions"]`` (a class, or an
    ``OutputRecorder`` naming one)."""
    targets: dict[type, int] = {}
    for owner in model.modules():
        spec = (getattr(type(owner), "_can_record_outputs", None) or {}).get("attentions")
        target = getattr(spec, "target_class", spec)
        if isinstance(target, type):
            targets.setdefault(target, getattr(spec, "index", 1))
    if not targets:
        return []
    return [
        (name, module, next(index for target, index in targets.items() if isinstance(module, target)))
        for name, module in model.named_modules()
        if isinstance(module, tuple(targets))
    ]


def _inner_name(name: str, model: nn.Module) -> str:
    """A module's name without our wrappers' prefixes (``model.`` of the counting model, ``model.`` of LogitsOnly)."""
    from explainers.counting import CountingModel

    if isinstance(model, CountingModel) and name.startswith("model."):
        return name[len("model.") :]
    return name


def attention_modules(model: nn.Module) -> list[str]:
    """The names of the modules whose attention probabilities ``recorded_attention`` records."""
    timm_names = [name for name, module in model.named_modules() if _timm_attention(module)]
    return [_inner_name(name, model) for name in timm_names] + [
        _inner_name(name, model) for name, _, _ in _transformers_attention(model)
    ]


@contextmanager
def _eager(model: nn.Module) -> Iterator[None]:
    """Every attention module of ``model`` on its eager path inside the block; each setting restored after it."""
    flags = [module for module in model.modules() if _timm_attention(module) and module.fused_attn]
    configs: dict[int, tuple[Any, Any]] = {}
    owners = []
    for module in model.modules():
        config = getattr(module, "config", None)
        if hasattr(module, "set_attn_implementation") and config is not None:
            owners.append(module)
            for each in (config, *(getattr(config, key, None) for key in getattr(config, "sub_configs", {}))):
                if each is not None and id(each) not in configs:
                    configs[id(each)] = (each, each._attn_implementation)
    try:
        for module in flags:
            module.fused_attn = False
        for owner in owners:
            if owner.config._attn_implementation != "eager":
                owner.set_attn_implementation("eager")
        yield
    finally:
        for module in flags:
            module.fused_attn = True
        for config, implementation in configs.values():  # outer models first: their setter also sets their parts'
            if config._attn_implementation != implementation:
                config._attn_implementation = implementation


@contextmanager
def recorded_attention(model: nn.Module) -> Iterator[AttentionRecord]:
    """``with recorded_attention(model) as record: model(x)``: ``record.probabilities`` holds each attention block's
    softmax probabilities ``(B, heads, N, N)`` of the forward passes run inside the block, in execution order.

    The model runs its attention eagerly inside the block (a little slower than fused); everything is restored at
    the end of the block, whatever ends it."""
    record = AttentionRecord()

    def keep(name: str, index: int | None):
        def hook(_module: nn.Module, _inputs: object, output: Any) -> None:
            probabilities = output if index is None else output[index]
            if isinstance(probabilities, torch.Tensor):
                record.names.append(name)
                record.probabilities.append(probabilities)

        return hook

    with _recording, ExitStack() as stack:
        hooks = stack.enter_context(temporary_hooks())
        for name, module in model.named_modules():
            if _timm_attention(module):
                hooks.forward(module.attn_drop, keep(_inner_name(name, model), None))
        for name, module, index in _transformers_attention(model):
            hooks.forward(module, keep(_inner_name(name, model), index))
        stack.enter_context(_eager(model))
        yield record


def applicable_methods(family: str) -> list[str]:
    """The names of the registered image-classification methods that give a map on a model of ``family``."""
    from explainers.registry import METHODS  # the registry imports the methods that import this module

    return [method.name for method in METHODS.values() if family in method.families]


def refusal(owner: str, family: str, why: str) -> UserInputError:
    """The message for a model an attention method cannot explain: why, and the methods that apply to it."""
    return UserInputError(
        f"{owner} reads a vision transformer's attention between its class token and the image's patches, in every "
        f"block (ViT, DeiT, BEiT, DINOv2): {why}. Methods that apply to this model: "
        f"{', '.join(applicable_methods(family))}."
    )


def global_token_grid(record: AttentionRecord, inputs: torch.Tensor, owner: str) -> TokenGrid:
    """The token grid every recorded block attends over, or a refusal: each block's probabilities must be one
    ``(B, heads, N, N)`` matrix per image over the same ``N`` tokens, a few prefix tokens then the input's patch
    grid. Swin's windowed attention fails this (a batch of windows per image, a smaller grid per stage)."""
    batch, size = inputs.shape[0], tuple(inputs.shape[-2:])
    shapes = {tuple(p.shape[0:1]) + tuple(p.shape[2:]) for p in record.probabilities if p.ndim == 4}
    grid = None
    if len(shapes) == 1 and all(p.ndim == 4 for p in record.probabilities):
        ((images, rows, columns),) = shapes
        if images == batch and rows == columns:
            grid = token_grid(rows, size)
    if grid is None:
        seen = ", ".join(sorted({"x".join(map(str, p.shape)) for p in record.probabilities})[:4])
        raise refusal(
            owner,
            SWIN,
            f"this model's attention is windowed or hierarchical (probabilities of shapes {seen} for a batch of "
            f"{batch}), as in Swin, so no token attends to the whole image",
        )
    return grid


@dataclass
class TokenAttention:
    """Each block's probabilities of the first image ``(heads, N, N)``, their gradients when asked, and the grid."""

    probabilities: list[torch.Tensor]
    gradients: list[torch.Tensor] | None
    grid: TokenGrid


def token_attention(problem: Problem, owner: str, *, gradients: bool = False) -> TokenAttention:
    """One forward pass of ``problem.model`` recording its attention (and one backward pass of the target's score
    with ``gradients``); a refusal naming the methods that apply on a model without global attention."""
    if not attention_modules(problem.model):
        raise refusal(owner, CNN, "this model has no attention layers (a convolutional network, for one)")
    with recorded_attention(problem.model) as record:
        if gradients:
            with torch.enable_grad():
                # The input as a leaf that requires grad: the blocks then build the graph the gradients need (the
                # weights are frozen); autograd.grad stops at the probabilities, so nothing runs below them.
                score = problem.model(problem.inputs.detach().requires_grad_(True))[0, problem.target]
                grid = global_token_grid(record, problem.inputs, owner)
                taken = [gradient[0].detach().cpu() for gradient in record.gradients(score)]
        else:
            with torch.no_grad():
                problem.model(problem.inputs)
            grid = global_token_grid(record, problem.inputs, owner)
            taken = None
        # On the CPU, where maps are made (a model on a GPU hands its output back too): 12 MB for ViT-S's blocks.
        probabilities = [p[0].detach().cpu() for p in record.probabilities]
    return TokenAttention(probabilities, taken, grid)


def readout_weights(grid: TokenGrid, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The token the prediction is read from, as weights over the N tokens: the class token (one-hot on token 0),
    or for a model without one (global average pooling) the mean of all tokens."""
    tokens = grid.prefix + grid.height * grid.width
    if grid.prefix:
        return torch.nn.functional.one_hot(torch.tensor(0), tokens).to(dtype)
    return torch.full((tokens,), 1.0 / tokens, dtype=dtype)


def patch_grid(row: torch.Tensor, grid: TokenGrid) -> torch.Tensor:
    """A row over the N tokens -> its patch tokens as an ``(h, w)`` grid (prefix tokens dropped)."""
    return row[grid.prefix :].reshape(grid.height, grid.width)


def readout_row(relevance: torch.Tensor, grid: TokenGrid) -> torch.Tensor:
    """``relevance`` (N, N) read from the class token's row (or the mean row) over the patch tokens, as a grid."""
    return patch_grid(readout_weights(grid, relevance.dtype) @ relevance, grid)


def upsampled(cells: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """An ``(h, w)`` grid of cells, bilinearly resized to the model's input size (the CAMs' convention)."""
    return torch.nn.functional.interpolate(cells[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
