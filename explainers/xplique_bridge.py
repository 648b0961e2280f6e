"""Runs an Xplique attribution method on a PyTorch model through ``xplique.wrappers.TorchWrapper``."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from explainers.base import Problem
from explainers.runtime import import_xplique


def run_xplique(problem: Problem, build: Callable[[ModuleType, Any], Any], *, gradients: bool) -> np.ndarray:
    """``build(xplique, wrapped_model)`` returns the explainer; the map comes back as HxW float32.

    Black-box methods wrap the model without autograd (``gradients=False``): no graph is built, which is faster.
    """
    xplique = import_xplique()
    wrapped = xplique.wrappers.TorchWrapper(problem.model, device="cpu", requires_grad=gradients)
    explainer = build(xplique, wrapped)
    channels_last = problem.inputs.permute(0, 2, 3, 1).numpy()
    one_hot = np.eye(problem.n_classes, dtype=np.float32)[[problem.target]]
    attribution = np.asarray(explainer.explain(channels_last, one_hot), dtype=np.float32)[0]
    return attribution[..., 0] if attribution.ndim == 3 else attribution
