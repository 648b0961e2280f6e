"""The cross-framework check's picture: each method's map in PyTorch and in Keras, side by side, with their
correlation."""

from __future__ import annotations

import numpy as np

from explainers.cross_framework import CrossCheck
from outputs.render import overlay_figure


def cross_check_overlays(image: np.ndarray, result: CrossCheck) -> list[tuple[np.ndarray, str]]:
    """(overlay, caption) pairs: for every method, its PyTorch map then its Keras (Xplique) map."""
    pictures = []
    for row in result.methods:
        verdict = "agree" if row.agrees else "DISAGREE"
        for side, explanation in (("PyTorch (ours)", row.pytorch), ("Keras (Xplique)", row.keras)):
            title = f"{row.method.name}, {side}"
            overlay = overlay_figure(image, explanation.attribution, title, crop_box=explanation.crop_box)
            pictures.append((overlay, f"{title}: r = {row.correlation:.3f} ({verdict})"))
    return pictures
