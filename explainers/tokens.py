"""Which tensors inside a network are spatial maps of the image, and how to turn one back into a grid.

A CNN's feature maps are ``(B, C, h, w)``; a vision transformer's activations are token sequences ``(B, N, C)``: a
few prefix tokens (class, distillation, register) followed by one token per patch in row-major order; Swin's stages
in timm are channels-last grids ``(B, h, w, C)``. A tensor counts as a spatial map of the image only if its grid is
the input's grid at some stride: ``(h, w) = (H // s, W // s)`` (or rounded up, for a network that pads) for one
stride ``s``, so the aspect ratio is the input's. That rule is what keeps a CAM off tensors that only look 4-D, such
as attention keys ``(B, heads, N, head width)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

MAX_PREFIX = 16
"""The most prefix tokens a sequence may carry: class + distillation + registers (DINOv2 has up to 4 registers)."""
MAX_STRIDE = 64


@dataclass(frozen=True)
class TokenGrid:
    """A token sequence of ``prefix + height * width`` tokens: the prefix dropped, the rest a row-major grid."""

    prefix: int
    height: int
    width: int


def input_grids(input_size: tuple[int, int]) -> list[tuple[int, int]]:
    """Every grid ``(h, w)`` of an ``(H, W)`` input at an integer stride, floor and ceiling, largest first."""
    height, width = input_size
    grids: list[tuple[int, int]] = []
    for stride in range(1, MAX_STRIDE + 1):
        for grid in ((height // stride, width // stride), (-(-height // stride), -(-width // stride))):
            if min(grid) >= 1 and grid not in grids:
                grids.append(grid)
    return grids


def is_input_grid(shape: tuple[int, int], input_size: tuple[int, int], *, strict: bool = True) -> bool:
    """Whether ``shape`` is the input's grid at some stride, and more than one cell.

    ``strict``: at an integer stride, rounded down or up. Otherwise any grid no larger than the input with its
    aspect ratio within 10 %: an Inception's 73x73 map of a 299 px input has no integer stride, and it is a map. The
    loose rule is only for networks with no token sequence, where no attention matrix can pass for a square map.
    """
    height, width = shape
    if height * width <= 1:
        return False
    if strict:
        return tuple(shape) in input_grids(input_size)
    input_h, input_w = input_size
    return height <= input_h and width <= input_w and abs((input_h / height) / (input_w / width) - 1) <= 0.1


def token_grid(n_tokens: int, input_size: tuple[int, int]) -> TokenGrid | None:
    """The grid of a sequence of ``n_tokens`` tokens over an ``(H, W)`` input, with the fewest prefix tokens that
    make the rest one of the input's grids; None when none does (the sequence is not a map of the image)."""
    best: TokenGrid | None = None
    for height, width in input_grids(input_size):
        prefix = n_tokens - height * width
        if height * width > 1 and 0 <= prefix <= MAX_PREFIX and (best is None or prefix < best.prefix):
            best = TokenGrid(prefix, height, width)
    return best


def layout(shape: tuple[int, ...], input_size: tuple[int, int], *, strict: bool = True) -> str | None:
    """How an activation of ``shape`` holds a map of the image: "channels-first" ``(B, C, h, w)``,
    "channels-last" ``(B, h, w, C)``, "tokens" ``(B, N, C)``; None when it holds none (``strict``: see
    ``is_input_grid``; it applies to channels-first maps, the others are transformers' and always strict)."""
    if len(shape) == 4:
        if is_input_grid((shape[2], shape[3]), input_size, strict=strict):
            return "channels-first"
        if is_input_grid((shape[1], shape[2]), input_size):
            return "channels-last"
    if len(shape) == 3 and token_grid(shape[1], input_size) is not None:
        return "tokens"
    return None


def as_feature_map(activation: torch.Tensor, kind: str, input_size: tuple[int, int]) -> torch.Tensor:
    """An activation of ``layout`` ``kind`` as ``(B, C, h, w)``: prefix tokens dropped, channels moved first.

    A view, so a gradient taken with respect to ``activation`` reshapes the same way.
    """
    if kind == "channels-last":
        return activation.permute(0, 3, 1, 2)
    if kind == "tokens":
        grid = token_grid(activation.shape[1], input_size)
        if grid is None:
            raise ValueError(f"{activation.shape[1]} tokens are not a grid of a {input_size} input")
        patches = activation[:, grid.prefix :, :]
        return patches.reshape(activation.shape[0], grid.height, grid.width, -1).permute(0, 3, 1, 2)
    return activation
