"""How concentrated a box's map is: what the tests assert and the benchmark reports."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def inside_outside_ratio(attribution: np.ndarray, box: Sequence[float]) -> float:
    """Mean positive evidence inside the box (x1, y1, x2, y2 in map pixels) over the mean outside it."""
    x1, y1, x2, y2 = (round(v) for v in box)
    inside = np.zeros(attribution.shape, dtype=bool)
    inside[y1:y2, x1:x2] = True
    positive = np.clip(attribution, 0, None)
    return float(positive[inside].mean() / max(positive[~inside].mean(), 1e-12))
