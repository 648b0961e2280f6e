"""The interpretable features LIME and KernelSHAP switch on and off: SLIC superpixels of the input image.

Xplique's default (quickshift) gives ~850 tiny segments and noisy maps; ~50 SLIC segments give readable ones.
"""

from __future__ import annotations

import numpy as np
from skimage.segmentation import slic

from explainers.base import Param, Problem

SEGMENTS_PARAM = Param("n_segments", int, default=50, fast=50, minimum=4, maximum=400, help="SLIC superpixels.")


def superpixels(problem: Problem, n_segments: int) -> np.ndarray:
    """HxW int32 segment labels 0..K-1 of the un-normalised RGB image at the model's input size."""
    segments = slic(problem.rgb, n_segments=n_segments, compactness=10.0, start_label=0, channel_axis=-1)
    return segments.astype(np.int32)
