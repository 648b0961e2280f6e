"""What a detection method explains, and the one score every method uses for "the detector still finds this box".

The score is D-RISE's similarity (Petsiuk et al., 2021), as in Xplique's object-detection operator: over every box the
detector predicts, the best ``IoU(target, box) x objectness(box) x cosine(class vector of target, of box)``. It is
differentiable, so the gradient method explains the same quantity as D-RISE.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.ops
from torch import nn


@dataclass
class BoxProblem:
    """One network input (1x3xHxW, preprocessed) and the pre-NMS row ``(4 + 1 + C)`` of the box to explain."""

    model: nn.Module
    inputs: torch.Tensor
    target: torch.Tensor
    batch_size: int = 8  # YOLOv3-tiny at 416 px: batch 8 beat 16 by ~1.4x here (benchmarks/bench_detection.py)


def box_similarity(predictions: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, n_boxes, 4 + 1 + C) predictions and a (4 + 1 + C) target -> (N,) best similarity per image."""
    iou = torchvision.ops.box_iou(predictions[..., :4].reshape(-1, 4), target[None, :4]).view(predictions.shape[:2])
    cosine = F.cosine_similarity(predictions[..., 5:], target[5:].expand_as(predictions[..., 5:]), dim=-1)
    return (iou * predictions[..., 4] * cosine).max(dim=1).values
