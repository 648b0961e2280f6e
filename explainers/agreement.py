"""How far two attribution maps agree: what the tests and the peer benchmark compare implementations with."""

from __future__ import annotations

import numpy as np


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps of the same shape, pixel by pixel, in float64."""
    return float(np.corrcoef(np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel())[0, 1])
