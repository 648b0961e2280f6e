"""An edge detector posing as an explanation: the Sobel gradient magnitude of the image, which never asks the model.

It is a control (Adebayo et al., 2018): such a map often *looks* like a plausible explanation, yet it cannot change
when the model is randomised, so the sanity check must fail it, and faithfulness scores should rank it low.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from explainers.base import Cost, Method, Problem


def attribute(problem: Problem, _params: dict[str, Any]) -> np.ndarray:
    grey = problem.rgb.astype(np.float32).mean(axis=2)
    return np.hypot(ndimage.sobel(grey, axis=0), ndimage.sobel(grey, axis=1)).astype(np.float32)


METHOD = Method(
    key="edges",
    name="Edge detector (control)",
    family="baseline",
    backend="native",
    params=(),
    cost=lambda _params, _size: Cost(),
    attribute=attribute,
    strengths="Shows what a plausible-looking map that ignores the model looks like: a control.",
    caveats="Not an explanation at all; pixel-level Deletion even scores it well, the sanity check fails it.",
    question="None about the model: Sobel edges of the image. A control that sanity checks must fail.",
    paper="Adebayo et al., Sanity Checks for Saliency Maps, NeurIPS 2018 (arXiv:1810.03292)",
)
