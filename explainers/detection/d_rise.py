"""D-RISE (Petsiuk et al., 2021): RISE for detectors, natively in batched PyTorch.

Random smooth masks (the same generator as ``explainers.rise``) hide parts of the network input (``mask * x``: black
for YOLO's [0, 1] input, the mean colour for normalised inputs); each masked input scores by how well the detector
still finds the target box (``box_similarity``: IoU x objectness x class cosine, best over all pre-NMS boxes). The map
is RISE's ``sum(score * mask) / sum(mask)`` minus the mean score: positive where keeping the pixels visible helps the
detector find the box, negative where it hurts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers import rise
from explainers.base import Cost, Method, Param
from explainers.detection.target import BoxProblem, box_similarity


@torch.no_grad()
def attribute(problem: BoxProblem, params: dict[str, Any]) -> np.ndarray:
    generator = torch.Generator().manual_seed(int(params.get("seed", 0)))
    image = problem.inputs
    size = tuple(image.shape[-2:])
    numerator = torch.zeros(size, dtype=torch.float64)
    denominator = torch.zeros(size, dtype=torch.float64)
    total = 0.0
    remaining = params["nb_samples"]
    while remaining > 0:
        count = min(problem.batch_size, remaining)
        masks = rise.smooth_masks(count, size, params["grid_size"], params["preservation_probability"], generator)
        masked = (masks * image).contiguous(memory_format=torch.channels_last)  # ~1.6x faster on CPU here
        scores = box_similarity(problem.model(masked), problem.target).double()
        numerator += torch.einsum("n,nhw->hw", scores, masks[:, 0].double())
        denominator += masks[:, 0].sum(dim=0).double()
        total += float(scores.sum())
        remaining -= count
    return (numerator / (denominator + 1e-4) - total / params["nb_samples"]).float().numpy()


METHOD = Method(
    key="d_rise",
    name="D-RISE",
    family="detection",
    backend="native torch",
    params=(
        Param("nb_samples", int, default=1000, fast=128, minimum=2, maximum=20000, help="Random masks."),
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
