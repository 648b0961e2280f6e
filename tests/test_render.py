"""The overlay shows the map where the map is, with a colour bar, for signed and unsigned maps."""

from __future__ import annotations

import numpy as np

from outputs.render import is_signed, overlay_figure


def test_hot_half_is_drawn_on_the_matching_half(chelsea):
    attribution = np.zeros(chelsea.shape[:2], dtype=np.float32)
    attribution[:, :200] = 1.0
    picture = overlay_figure(chelsea, attribution, "left half").astype(float)
    height, width = picture.shape[:2]
    assert width > height > 200
    middle = picture[height // 3 : 2 * height // 3]
    left, right = middle[:, int(width * 0.1) : int(width * 0.3)], middle[:, int(width * 0.55) : int(width * 0.75)]
    brightness = lambda region: region.mean()  # noqa: E731  inferno: high values are bright yellow
    assert brightness(left) > brightness(right) + 30


def test_signed_maps_are_told_apart_from_positive_ones():
    assert is_signed(np.array([-1.0, 2.0]))
    assert not is_signed(np.array([0.0, 2.0]))
    assert not is_signed(np.array([-0.001, 2.0]))
