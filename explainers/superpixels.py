"""The interpretable features LIME and KernelSHAP switch on and off: SLIC superpixels of the input image.

Xplique's default (quickshift) gives ~850 tiny segments and noisy maps; ~50 SLIC segments give readable ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from skimage.segmentation import slic

from explainers.base import Param, Problem

SEGMENTS_PARAM = Param("n_segments", int, default=50, fast=50, minimum=4, maximum=400, help="SLIC superpixels.")


def superpixel_mapping(problem: Problem, n_segments: int) -> Callable[[Any], np.ndarray]:
    """A ``map_to_interpret_space`` for Xplique: the un-normalised RGB image segmented once, whatever it is given."""
    segments = slic(problem.rgb, n_segments=n_segments, compactness=10.0, start_label=0, channel_axis=-1)
    mapping = segments.astype(np.int32)
    return lambda _inputs: mapping
