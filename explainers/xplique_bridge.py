"""Runs an Xplique attribution method on a PyTorch model through ``xplique.wrappers.TorchWrapper``."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from explainers.base import Problem
from explainers.runtime import import_xplique
from explainers.superpixels import superpixels


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


def xplique_occlusion(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    """Xplique's Occlusion, which ``explainers.occlusion`` replaced: the reference for its tests and benchmark."""
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.Occlusion(
            model,
            batch_size=problem.batch_size,
            patch_size=params["patch_size"],
            patch_stride=params["patch_stride"],
            occlusion_value=params["occlusion_value"],
        ),
        gradients=False,
    )


def xplique_rise(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    """Xplique's RISE, which ``explainers.rise`` replaced (seeded through TensorFlow's global seed by the caller)."""
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.Rise(
            model,
            batch_size=problem.batch_size,
            nb_samples=params["nb_samples"],
            grid_size=params["grid_size"],
            preservation_probability=params["preservation_probability"],
        ),
        gradients=False,
    )


def xplique_integrated_gradients(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.IntegratedGradients(
            model, batch_size=problem.batch_size, steps=params["steps"], baseline_value=params["baseline_value"]
        ),
        gradients=True,
    )


def xplique_smoothgrad(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.SmoothGrad(
            model, batch_size=problem.batch_size, nb_samples=params["nb_samples"], noise=params["noise"]
        ),
        gradients=True,
    )


def xplique_saliency(problem: Problem, _params: dict[str, Any]) -> np.ndarray:
    return run_xplique(problem, lambda xplique, model: xplique.attributions.Saliency(model), gradients=True)


def xplique_lime(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    """Xplique's Lime on our SLIC superpixels, weighted by ``explainers.lime.cosine_weights``, fitted by Ridge(2)."""
    from sklearn.linear_model import Ridge

    from explainers.lime import cosine_weights

    segments = superpixels(problem, params["n_segments"])
    width = params["kernel_width"]
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.Lime(
            model,
            batch_size=problem.batch_size,
            interpretable_model=Ridge(alpha=2),
            map_to_interpret_space=lambda _inputs: segments,
            nb_samples=params["nb_samples"],
            similarity_kernel=lambda _inputs, samples, _perturbed: cosine_weights(samples, width),
        ),
        gradients=False,
    )


def xplique_kernel_shap(problem: Problem, params: dict[str, Any]) -> np.ndarray:
    segments = superpixels(problem, params["n_segments"])
    return run_xplique(
        problem,
        lambda xplique, model: xplique.attributions.KernelShap(
            model,
            batch_size=problem.batch_size,
            map_to_interpret_space=lambda _inputs: segments,
            nb_samples=params["nb_samples"],
        ),
        gradients=False,
    )


# Xplique's implementation of each method, by registry key: what the registry ran before (or still runs, where the
# method's backend is "xplique"), kept as the reference for the agreement tests and the benchmarks.
XPLIQUE_REFERENCES: dict[str, Callable[[Problem, dict[str, Any]], np.ndarray]] = {
    "occlusion": xplique_occlusion,
    "rise": xplique_rise,
    "integrated_gradients": xplique_integrated_gradients,
    "smoothgrad": xplique_smoothgrad,
    "saliency": xplique_saliency,
    "lime": xplique_lime,
    "kernel_shap": xplique_kernel_shap,
}
