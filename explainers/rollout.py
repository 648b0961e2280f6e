"""Attention rollout (Abnar & Zuidema, 2020): how much each patch flows into the class token through every block.

For each block ``l`` with probabilities ``A_l`` (heads x N x N):

    F_l = fuse_h(A_l)                       mean, max or min over the heads
    F_l[i, j] = 0 for the discard_ratio * N^2 smallest entries of F_l, except F_l[0, 0]
    Â_l = (F_l + I) / 2, rows renormalised   the residual connection: half the signal skips the attention
    R = Â_L ... Â_2 Â_1

and the map is ``R``'s class-token row over the patch tokens, on the patch grid. Head fusion and discarding follow
jacobgil/vit-explain's ``vit_rollout.py`` (its discard is over the whole fused matrix, sparing only the class token's
attention to itself); its renormalisation divides by ``a.sum(dim=-1)`` without ``keepdim``, which broadcasts the row
sums over the columns (vit-explain issue #16): here each row is divided by its own sum, as the paper does.

Class-agnostic: the same map for every target. One forward pass, attention recorded by ``explainers.attention``::

    explain(model, image, "rollout", params={"head_fusion": "mean", "discard_ratio": 0.9})
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.attention import patch_grid, readout_weights, token_attention, upsampled
from explainers.base import VIT, Cost, Method, Param, Problem

HEAD_FUSIONS = ("mean", "max", "min")


def fuse_heads(probabilities: torch.Tensor, head_fusion: str) -> torch.Tensor:
    """(heads, N, N) -> (N, N): a new tensor, safe to change in place."""
    if head_fusion == "mean":
        return probabilities.mean(dim=0)
    if head_fusion == "max":
        return probabilities.amax(dim=0)
    return probabilities.amin(dim=0)


def rolled_blocks(attentions: list[torch.Tensor], head_fusion: str, discard_ratio: float) -> torch.Tensor:
    """Each block's ``Â`` (blocks x N x N): heads fused, the weakest entries discarded, the identity added, rows
    renormalised; the blocks are treated together, as one tensor."""
    fused = torch.stack([fuse_heads(probabilities, head_fusion) for probabilities in attentions])
    blocks, tokens = fused.shape[0], fused.shape[-1]
    discard = int(tokens * tokens * discard_ratio)
    if discard:
        # numpy's introselect finds each block's ``discard`` lowest entries in 1.2 ms for ViT-S's 12 blocks of
        # 197 x 197, torch's top-k in 7 ms (one thread); ``fused`` is a CPU tensor (``token_attention``).
        flat = fused.view(blocks, -1).numpy()  # a view: zeroing it zeroes ``fused``
        corner = flat[:, 0].copy()  # the class token's attention to itself is never dropped
        np.put_along_axis(flat, np.argpartition(flat, discard - 1, axis=1)[:, :discard], 0.0, axis=1)
        flat[:, 0] = corner
    mixed = fused + torch.eye(tokens, dtype=fused.dtype)  # (F + I) / 2 renormalised: the halving cancels
    return mixed / mixed.sum(dim=-1, keepdim=True)


def rollout(attentions: list[torch.Tensor], head_fusion: str, discard_ratio: float) -> torch.Tensor:
    """The rolled-out attention ``R = Â_L ... Â_1`` (N x N) of each block's probabilities (heads x N x N), first
    block first."""
    result = None
    for block in rolled_blocks(attentions, head_fusion, discard_ratio):
        result = block if result is None else block @ result
    return result


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    taken = token_attention(problem, METHOD.name)
    row = readout_weights(taken.grid)
    for block in reversed(rolled_blocks(taken.probabilities, params["head_fusion"], params["discard_ratio"])):
        row = row @ block  # the readout row of R, a vector at a time: N^2 a block instead of N^3
    cells = patch_grid(row, taken.grid)
    return upsampled(cells, tuple(problem.inputs.shape[-2:])).numpy().astype(np.float32)


METHOD = Method(
    key="rollout",
    name="Attention rollout",
    family="attention",
    backend="native torch",
    params=(
        Param(
            "head_fusion",
            str,
            default="mean",
            fast="mean",
            choices=HEAD_FUSIONS,
            help="How each block's heads are merged: mean (the paper's), max (vit-explain's default: sharper, but it "
            "follows single high-attention tokens) or min.",
        ),
        Param(
            "discard_ratio",
            float,
            default=0.9,
            fast=0.9,
            minimum=0.0,
            maximum=0.99,
            help="Share of each block's weakest attention links set to zero before rolling out (0: the paper's).",
        ),
    ),
    cost=lambda _params, _size: Cost(forward=1),
    attribute=attribute,
    question="Which patches does the class token gather its information from, through all the blocks?",
    paper="Abnar & Zuidema, Quantifying Attention Flow in Transformers, ACL 2020 (arXiv:2005.00928)",
    strengths=(
        "One forward pass; shows where a vision transformer looks, and on self-supervised backbones (DINO, DINOv2) "
        "it often outlines the object."
    ),
    caveats=(
        "The same map for every class (it never looks at the target); attention is not attribution; the patch "
        "grid is coarse (14x14 at 224 px). ViT-style models only: it needs a class token that attends to every "
        "patch in every block. Swin is excluded: its attention is windowed (7x7 windows, shifted) over a "
        "shrinking hierarchy of grids, with no class token, so there is no token-to-image matrix to roll out. "
        "On DeiT's distilled models only the class token is read, not the distillation token. Max fusion follows "
        "the few high-norm 'artifact' tokens of backbones trained without registers (DINOv2): on DINOv2-small and "
        "dog.jpg it puts 0.69x the dog box's share of the image inside it, mean fusion 1.7x (the default)."
    ),
    families=(VIT,),
)
