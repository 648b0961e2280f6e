"""Saliency (Simonyan et al., 2014): the absolute input gradient of the class score, via Xplique."""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Cost, Method, Problem
from explainers.xplique_bridge import run_xplique


def attribute(problem: Problem, _params: dict[str, Any]) -> np.ndarray:
    return run_xplique(problem, lambda xplique, model: xplique.attributions.Saliency(model), gradients=True)


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
