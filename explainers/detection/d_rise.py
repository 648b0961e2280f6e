"""D-RISE (Petsiuk et al., 2021): RISE for detectors, natively in batched PyTorch.

Random smooth masks (the same generator as ``explainers.rise``) hide parts of the network input (``mask * x``: black
for YOLO's [0, 1] input, the mean colour for normalised inputs); each masked input scores by how well the detector
still finds the target box (``box_similarity``: IoU x objectness x class cosine, best over all pre-NMS boxes). The map
is RISE's ``sum(score * mask) / sum(mask)`` minus the mean score: positive where keeping the pixels visible helps the
detector find the box, negative where it hurts.

Cost: the detector's forward passes, at its raw batched speed, and little else: the masks, the masking, the scores
and the sums are a few percent of the time (``benchmarks/bench_detection.py``; timings: ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers import rise
from explainers.base import DETECTOR_FAMILIES, Cost, Method, Param
from explainers.detection.target import BoxProblem, box_similarity


@torch.no_grad()
def attribute(problem: BoxProblem, params: dict[str, Any]) -> np.ndarray:
    generator = torch.Generator().manual_seed(int(params.get("seed", 0)))
    image = problem.inputs.permute(0, 2, 3, 1).contiguous()  # 1xHxWxC: channels-last, as the model wants it
    size = tuple(problem.inputs.shape[-2:])
    sums = torch.zeros(2, *size, dtype=torch.float64)  # sum(score x mask) and sum(mask)
    total = 0.0
    remaining = params["nb_samples"]
    while remaining > 0:
        count = min(problem.batch_size, remaining)
        masks = rise.smooth_masks(count, size, params["grid_size"], params["preservation_probability"], generator)
        # One pass writes the masked batch straight into channels-last memory (an NHWC buffer, seen as NCHW): the
        # detector runs ~1.6x faster on it here, and no second copy is needed to get there.
        masked = torch.mul(masks.permute(0, 2, 3, 1), image, out=image.new_empty(count, *image.shape[1:]))
        masked = masked.permute(0, 3, 1, 2)
        scores = box_similarity(problem.model(masked), problem.target)
        # Both sums in one pass over the masks (float32 within a batch, float64 across batches).
        weights = torch.stack([scores.float(), torch.ones_like(scores, dtype=torch.float32)])
        sums += torch.einsum("kn,nhw->khw", weights, masks[:, 0]).double()
        total += float(scores.sum())
        remaining -= count
    numerator, denominator = sums
    return (numerator / (denominator + 1e-4) - total / params["nb_samples"]).float().numpy()


METHOD = Method(
    key="d_rise",
    name="D-RISE",
    family="detection",
    families=DETECTOR_FAMILIES,
    backend="native torch",
    params=(
        Param(
            "nb_samples",
            int,
            default=1000,
            fast=128,
            minimum=2,
            maximum=20000,
            help="Random masks.",
            sized=(64, 4000),
        ),
        Param("grid_size", int, default=16, fast=8, minimum=2, maximum=64, help="Cells per side of each mask's grid."),
        next(p for p in rise.METHOD.params if p.name == "preservation_probability"),
    ),
    cost=lambda params, _size: Cost(forward=params["nb_samples"]),
    attribute=attribute,
    question="Which regions, when kept visible, let the detector still find this box with this class? (black box)",
    paper="Petsiuk et al., Black-box Explanation of Object Detectors via Saliency Maps, CVPR 2021 (arXiv:2006.03204)",
    strengths="Black box: any detector's pre-NMS boxes; explains location, class and objectness together.",
    caveats="Stochastic and costly (a forward pass per mask); blurry at object edges; small boxes need finer grids.",
    stochastic=True,
)
