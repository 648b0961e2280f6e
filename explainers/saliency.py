"""Saliency (Simonyan et al., 2014): the absolute input gradient of the class score, via Xplique."""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Problem
from explainers.xplique_bridge import xplique_saliency


def attribute(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return xplique_saliency(problem, params)


METHOD = Method(
    key="saliency",
    name="Saliency",
    family="gradient",
    backend="xplique",
    params=(),
    cost=lambda _params, _size: Cost(backward=1),
    attribute=attribute,
    strengths="One gradient: instant, pixel-level.",
    caveats="Noisy and fragile; the sanity check shows gradients can look like edges.",
    question="Which pixels would change the class score most if nudged? (one gradient, noisy)",
    paper="Simonyan et al., Deep Inside Convolutional Networks, ICLR workshop 2014 (arXiv:1312.6034)",
)
