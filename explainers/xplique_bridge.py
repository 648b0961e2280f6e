"""Xplique's attribution methods as this app configures them, built once for both frameworks.

Each ``*_builder(problem, params)`` returns ``build(xplique, model)``: the Xplique explainer with the registry's
parameters (and, for LIME and KernelSHAP, our SLIC superpixels and LIME's cosine kernel). The same builder runs

* on a PyTorch model through ``xplique.wrappers.TorchWrapper`` (``run_xplique``): the references our native PyTorch
  methods are checked against (``XPLIQUE_REFERENCES``, the agreement tests and the benchmarks);
* on a Keras model (``explainers.xplique_keras.run_xplique_keras``): what a method's ``keras`` implementation runs
  (``keras_runner``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from explainers.base import Problem
from explainers.runtime import XPLIQUE_RUN, import_xplique
from explainers.superpixels import superpixels
from explainers.xplique_keras import run_xplique_keras

Build = Callable[[ModuleType, Any], Any]
"""``build(xplique, model)``: an Xplique explainer of ``model``."""
Builder = Callable[[Problem, dict[str, Any]], Build]
"""``builder(problem, params)``: the ``Build`` of one method with these parameters."""


def run_xplique(problem: Problem, build: Build, *, gradients: bool) -> np.ndarray:
    """``build(xplique, wrapped_model)`` returns the explainer; the map comes back as HxW float32.

    Black-box methods wrap the model without autograd (``gradients=False``): no graph is built, which is faster.
    """
    xplique = import_xplique()
    with XPLIQUE_RUN:  # the wrapper turns TensorFlow's eager execution on for the process (explainers.runtime)
        wrapped = xplique.wrappers.TorchWrapper(problem.model, device="cpu", requires_grad=gradients)
        explainer = build(xplique, wrapped)
        channels_last = problem.inputs.permute(0, 2, 3, 1).numpy()
        one_hot = np.eye(problem.n_classes, dtype=np.float32)[[problem.target]]
        attribution = np.asarray(explainer.explain(channels_last, one_hot), dtype=np.float32)[0]
    return attribution[..., 0] if attribution.ndim == 3 else attribution


def occlusion_builder(problem: Problem, params: dict[str, Any]) -> Build:
    return lambda xplique, model: xplique.attributions.Occlusion(
        model,
        batch_size=problem.batch_size,
        patch_size=params["patch_size"],
        patch_stride=params["patch_stride"],
        occlusion_value=params["occlusion_value"],
    )


def rise_builder(problem: Problem, params: dict[str, Any]) -> Build:
    """Seeded through TensorFlow's global seed by the caller (``explainers.explain.seed_everything``)."""
    return lambda xplique, model: xplique.attributions.Rise(
        model,
        batch_size=problem.batch_size,
        nb_samples=params["nb_samples"],
        grid_size=params["grid_size"],
        preservation_probability=params["preservation_probability"],
    )


def integrated_gradients_builder(problem: Problem, params: dict[str, Any]) -> Build:
    return lambda xplique, model: xplique.attributions.IntegratedGradients(
        model, batch_size=problem.batch_size, steps=params["steps"], baseline_value=params["baseline_value"]
    )


def gradient_statistic_builder(name: str) -> Builder:
    """SmoothGrad, VarGrad or SquareGrad (``xplique.attributions.gradient_statistics``): one statistic of the
    gradients at ``nb_samples`` noisy copies of the input."""

    def builder(problem: Problem, params: dict[str, Any]) -> Build:
        return lambda xplique, model: getattr(xplique.attributions, name)(
            model, batch_size=problem.batch_size, nb_samples=params["nb_samples"], noise=params["noise"]
        )

    return builder


def plain_builder(name: str) -> Builder:
    """An Xplique method with its own defaults and no parameter of ours (Saliency, Gradient x Input)."""

    def builder(problem: Problem, _params: dict[str, Any]) -> Build:
        return lambda xplique, model: getattr(xplique.attributions, name)(model, batch_size=problem.batch_size)

    return builder


def lime_builder(problem: Problem, params: dict[str, Any]) -> Build:
    """Xplique's Lime on our SLIC superpixels, weighted by ``explainers.lime.cosine_weights``, fitted by Ridge(2)."""
    from sklearn.linear_model import Ridge

    from explainers.lime import RIDGE_ALPHA, cosine_weights

    segments = superpixels(problem, params["n_segments"])
    width = params["kernel_width"]
    return lambda xplique, model: xplique.attributions.Lime(
        model,
        batch_size=problem.batch_size,
        interpretable_model=Ridge(alpha=RIDGE_ALPHA),
        map_to_interpret_space=lambda _inputs: segments,
        nb_samples=params["nb_samples"],
        similarity_kernel=lambda _inputs, samples, _perturbed: cosine_weights(samples, width),
    )


def kernel_shap_builder(problem: Problem, params: dict[str, Any]) -> Build:
    """Xplique's KernelShap on our SLIC superpixels."""
    segments = superpixels(problem, params["n_segments"])
    return lambda xplique, model: xplique.attributions.KernelShap(
        model,
        batch_size=problem.batch_size,
        map_to_interpret_space=lambda _inputs: segments,
        nb_samples=params["nb_samples"],
    )


smoothgrad_builder = gradient_statistic_builder("SmoothGrad")
vargrad_builder = gradient_statistic_builder("VarGrad")
squaregrad_builder = gradient_statistic_builder("SquareGrad")
saliency_builder = plain_builder("Saliency")
gradient_input_builder = plain_builder("GradientInput")

# The builder of each method, by registry key, and whether it needs the model's gradients.
BUILDERS: dict[str, tuple[Builder, bool]] = {
    "occlusion": (occlusion_builder, False),
    "rise": (rise_builder, False),
    "integrated_gradients": (integrated_gradients_builder, True),
    "smoothgrad": (smoothgrad_builder, True),
    "saliency": (saliency_builder, True),
    "lime": (lime_builder, False),
    "kernel_shap": (kernel_shap_builder, False),
    "gradient_input": (gradient_input_builder, True),
    "vargrad": (vargrad_builder, True),
    "squaregrad": (squaregrad_builder, True),
}


def reference(key: str) -> Callable[[Problem, dict[str, Any]], np.ndarray]:
    """Xplique's implementation of the method ``key`` on a PyTorch model, through its ``TorchWrapper``."""
    builder, gradients = BUILDERS[key]
    return lambda problem, params: run_xplique(problem, builder(problem, params), gradients=gradients)


def keras_runner(key: str) -> Callable[[Problem, dict[str, Any]], np.ndarray]:
    """Xplique's implementation of the method ``key`` on a Keras model: a method's ``keras`` implementation."""
    builder, _ = BUILDERS[key]
    return lambda problem, params: run_xplique_keras(problem, builder(problem, params))


# Xplique's implementation of each method, by registry key: what the registry ran before (or still runs, where the
# method's backend is "xplique"), kept as the reference for the agreement tests and the benchmarks.
XPLIQUE_REFERENCES: dict[str, Callable[[Problem, dict[str, Any]], np.ndarray]] = {
    key: reference(key) for key in BUILDERS
}
xplique_occlusion = XPLIQUE_REFERENCES["occlusion"]
xplique_rise = XPLIQUE_REFERENCES["rise"]
xplique_integrated_gradients = XPLIQUE_REFERENCES["integrated_gradients"]
xplique_smoothgrad = XPLIQUE_REFERENCES["smoothgrad"]
xplique_saliency = XPLIQUE_REFERENCES["saliency"]
xplique_lime = XPLIQUE_REFERENCES["lime"]
xplique_kernel_shap = XPLIQUE_REFERENCES["kernel_shap"]
