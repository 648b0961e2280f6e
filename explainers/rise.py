"""RISE (Petsiuk et al., 2018): the class score averaged over random smooth masks, in native PyTorch.

Follows ``xplique.attributions.Rise`` (2.0.2) and the paper: each mask is a ``grid_size`` x ``grid_size`` grid of
cells kept with probability ``preservation_probability``, upsampled bilinearly (half-pixel centres, as
``tf.image.resize``) to ``H * (1 + 1 / grid_size)`` and cropped back to ``H`` x ``W`` at a random shift. The masked
input is ``mask * x`` (0 = the mean colour in normalised space), its score the target's logit, and the map is Xplique's
normalisation ``sum(score * mask) / sum(mask)``. One deliberate difference: every mask gets its own random shift, as in
the paper; Xplique's ``tf.image.random_crop`` on a whole batch shifts all the masks of a batch alike. Randomness comes
from a ``torch.Generator`` seeded with ``params["seed"]``: the same seed gives the same map.

Why native: Xplique generates, upsamples and crops the masks in TensorFlow eagerly and moves each batch through NumPy
to PyTorch; here they are made in PyTorch, batch by batch, which also spares the first run a TensorFlow import, gives
per-mask shifts as in the paper and seeds through one ``torch.Generator`` (timings: ``benchmarks/RESULTS.md``).
``tests/test_native_vs_xplique.py`` checks the maps agree with Xplique's as well as two seeds of one agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from explainers.base import Cost, Method, Param, Problem
from explainers.xplique_bridge import keras_runner


def smooth_masks(count: int, size: tuple[int, int], grid: int, keep: float, generator: torch.Generator) -> torch.Tensor:
    """``count`` x 1 x H x W float masks in [0, 1]: random binary grids, upsampled, randomly shifted."""
    height, width = size
    cells = (torch.rand(count, 1, grid, grid, generator=generator) < keep).float()
    up_h, up_w = int(height * (1.0 + 1.0 / grid)), int(width * (1.0 + 1.0 / grid))
    upsampled = F.interpolate(cells, size=(up_h, up_w), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    tops = torch.randint(0, up_h - height + 1, (count,), generator=generator).tolist()
    lefts = torch.randint(0, up_w - width + 1, (count,), generator=generator).tolist()
    return torch.stack(
        [upsampled[i, :, t : t + height, s : s + width] for i, (t, s) in enumerate(zip(tops, lefts, strict=True))]
    )


@torch.no_grad()
def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    generator = torch.Generator().manual_seed(int(params.get("seed", 0)))
    # 1x3xHxW, normalised, in channels-last memory once: the masked batches come out channels-last, no second copy.
    image = problem.inputs.contiguous(memory_format=torch.channels_last)
    size = tuple(image.shape[-2:])
    numerator = torch.zeros(size, dtype=torch.float64)
    denominator = torch.zeros(size, dtype=torch.float64)
    remaining = params["nb_samples"]
    while remaining > 0:
        count = min(problem.batch_size, remaining)
        masks = smooth_masks(count, size, params["grid_size"], params["preservation_probability"], generator)
        # Channels-last: MobileNet-style CNNs run ~1.4x faster on CPU with NHWC memory (measured 250 vs 175 img/s).
        masked = (masks * image).contiguous(memory_format=torch.channels_last)  # already NHWC: no copy
        scores = problem.model(masked)[:, problem.target].float()
        numerator += torch.einsum("n,nhw->hw", scores, masks[:, 0]).double()
        denominator += masks[:, 0].sum(dim=0).double()
        remaining -= count
    return (numerator / (denominator + 1e-4)).float().numpy()


METHOD = Method(
    key="rise",
    name="RISE",
    family="perturbation",
    backend="native torch",
    params=(
        Param(
            "nb_samples", int, default=800, fast=200, minimum=2, maximum=20000, help="Random masks.", sized=(100, 3000)
        ),
        Param("grid_size", int, default=7, fast=7, minimum=2, maximum=32, help="Cells per side of each mask's grid."),
        Param(
            "preservation_probability",
            float,
            default=0.5,
            fast=0.5,
            minimum=0.05,
            maximum=0.95,
            help="Chance that a grid cell is kept.",
        ),
    ),
    cost=lambda params, _size: Cost(forward=params["nb_samples"]),
    attribute=attribute,
    keras=keras_runner("rise"),
    strengths="Black box, smooth maps that score well on Deletion/Insertion; works on any classifier.",
    caveats="Stochastic: needs thousands of masks for a stable map; blurry at object edges.",
    question="Which regions, when kept visible, keep the class score high? (black box, any model)",
    paper="Petsiuk et al., RISE, BMVC 2018 (arXiv:1806.07421)",
    stochastic=True,
)
