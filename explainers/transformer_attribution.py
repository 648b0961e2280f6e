"""Chefer et al.'s transformer attribution: attention weighted by its gradient, rolled out through the blocks.

For the target's logit ``y`` and each block's probabilities ``A_l`` (heads x N x N), first block first:

    Ā_l = mean_h (dy/dA_l ⊙ A_l)^+          each head's attention, weighted by its gradient, positive part
    R   = I;   R <- R + Ā_l R                 the self-attention rule (the identity carries the residual)

and the map is ``R``'s class-token row over the patch tokens, on the patch grid. This is the gradient-weighted
attention form of the authors' public code (hila-chefer/Transformer-MM-Explainability's ViT example), which most
re-implementations use; their CVPR 2021 paper weights the attention by its LRP relevance instead of the plain
probabilities, which needs an LRP rule for every layer of every architecture.

Class-specific: the gradients are those of the target's score, so another class gives another map (rollout gives
one map for all). One forward and one backward pass, attention recorded by ``explainers.attention``::

    explain(model, image, "chefer", target="tabby")
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.attention import patch_grid, readout_weights, token_attention, upsampled
from explainers.base import VIT, Cost, Method, Problem


def weighted_attention(attentions: list[torch.Tensor], gradients: list[torch.Tensor]) -> list[torch.Tensor]:
    """Each block's ``Ā = mean_h (dy/dA ⊙ A)^+`` (N x N)."""
    return [
        torch.mul(gradient, probabilities).clamp_(min=0.0).mean(dim=0)
        for probabilities, gradient in zip(attentions, gradients, strict=True)
    ]


def relevance(attentions: list[torch.Tensor], gradients: list[torch.Tensor]) -> torch.Tensor:
    """``R`` (N x N) from each block's probabilities and their gradients (heads x N x N), first block first."""
    result = torch.eye(attentions[0].shape[-1], dtype=attentions[0].dtype)
    for weighted in weighted_attention(attentions, gradients):
        result = result + weighted @ result
    return result


def attribute(problem: Problem, _params: dict[str, Any]) -> np.ndarray:
    taken = token_attention(problem, METHOD.name, gradients=True)
    assert taken.gradients is not None
    # R = (I + Ā_L) ... (I + Ā_1), so its readout row is a vector carried back through the blocks: N^2 a block.
    row = readout_weights(taken.grid)
    for weighted in reversed(weighted_attention(taken.probabilities, taken.gradients)):
        row = row + row @ weighted
    cells = patch_grid(row, taken.grid)
    return upsampled(cells, tuple(problem.inputs.shape[-2:])).numpy().astype(np.float32)


METHOD = Method(
    key="chefer",
    name="Transformer attribution (Chefer)",
    family="attention",
    backend="native torch",
    params=(),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=attribute,
    question="Which patches, through the attention of every block, raise this class's score?",
    paper=(
        "Chefer, Gur & Wolf, Transformer Interpretability Beyond Attention Visualization, CVPR 2021 "
        "(arXiv:2012.09838); the gradient-weighted attention rule of their Generic Attention-model Explainability, "
        "ICCV 2021 (arXiv:2103.15679)"
    ),
    strengths=(
        "Class-specific where rollout is not, one forward and backward pass; on ViTs it localises better than "
        "rollout and than Grad-CAM on a token layer in the authors' benchmarks."
    ),
    caveats=(
        "The patch grid is coarse (14x14 at 224 px); only positive evidence is kept (the clamp); the gradient "
        "form, not the paper's full LRP. ViT-style models only: it needs a class token that attends to every "
        "patch in every block. Swin is excluded: its attention is windowed (7x7 windows, shifted) over a "
        "shrinking hierarchy of grids, with no class token, so there is no token-to-image matrix to propagate. "
        "On DeiT's distilled models only the class token's row is read, not the distillation token's."
    ),
    families=(VIT,),
)
