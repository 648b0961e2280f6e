"""The agreement between two models' maps (explainers.compare.map_agreement) against hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from explainers.base import Explanation
from explainers.compare import map_agreement


def explained(attribution: np.ndarray, crop_box: tuple[int, int, int, int] | None) -> Explanation:
    return Explanation(
        attribution, "Grad-CAM", "gradcam", "classification", 0, "cat", {}, 1, 0.0, "native", {}, "crop", crop_box
    )


def test_the_same_map_agrees_fully_and_its_sign_does_not_matter():
    grid = np.arange(48, dtype=np.float32).reshape(6, 8)
    assert map_agreement(explained(grid, None), explained(grid, None)) == pytest.approx(1.0)
    assert map_agreement(explained(grid, None), explained(-grid, None)) == pytest.approx(1.0), "|map| is compared"


def test_only_the_pixels_both_models_saw_count():
    """Two models cropping differently: outside its crop each map is 0, which would agree by construction; inside the
    overlap one map rises left to right and the other right to left (rank correlation -1 there)."""
    rising = np.tile(np.arange(1, 9, dtype=np.float32), (6, 1))
    left = np.where(np.arange(8) < 6, rising, 0.0)  # saw columns 0-5
    right = np.where(np.arange(8) >= 2, rising[:, ::-1], 0.0)  # saw columns 2-7
    a, b = explained(left, (0, 0, 6, 6)), explained(right, (2, 0, 8, 6))
    expected = spearmanr(left[:, 2:6].ravel(), right[:, 2:6].ravel()).statistic
    assert map_agreement(a, b) == pytest.approx(expected) == pytest.approx(-1.0)


def test_a_blank_map_agrees_with_nothing():
    grid = np.arange(48, dtype=np.float32).reshape(6, 8)
    assert map_agreement(explained(grid, None), explained(np.zeros_like(grid), None)) == 0.0
