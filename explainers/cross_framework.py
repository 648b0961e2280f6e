"""The same weights in two frameworks: a timm checkpoint in PyTorch and, converted by KerasHub's timm loader, in Keras.

Both models get the same preprocessed pixels (the Keras one is loaded with timm's own preprocessing), so what differs
is only the framework and the explainer: our PyTorch code on one side, Xplique on the other. The check reports

* the logits: the largest absolute difference, relative to the largest logit (float32 convolutions in two libraries
  sum in different orders), and whether the top-1 class is the same;
* per method implemented on both sides, the Pearson correlation of the two maps (over the pixels the model saw).
  A deterministic method agrees at ``DETERMINISTIC_AGREEMENT`` (0.99). A random one draws its own samples on each
  side, so two maps can only agree statistically: the yardstick of ``benchmarks/bench_peers.py``, where two noisy
  estimates of the same expectation correlate at sqrt(r_pytorch x r_keras), r being each side's own seed-to-seed
  correlation; it agrees when the mean cross-framework correlation over ``SEEDS`` is at least
  ``STATISTICAL_SHARE`` (0.9) of that.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explainers.agreement import correlation
from explainers.base import Explanation, Method, ProgressFn
from explainers.explain import estimate, explain
from explainers.registry import METHODS, get_method
from hub_models.cache import load_model
from hub_models.errors import UserInputError
from hub_models.keras_models import KERAS, KERAS_PREFIX
from hub_models.loaded_model import LoadedModel

DETERMINISTIC_AGREEMENT = 0.99
STATISTICAL_SHARE = 0.9
SEEDS = (0, 1)
DEFAULT_CROSS_METHODS = ("gradcam", "saliency", "integrated_gradients")
DEFAULT_TIMM_MODEL = "timm/resnet50.a1_in1k"


def load_pair(spec: str | None) -> tuple[LoadedModel, LoadedModel]:
    """A timm checkpoint in PyTorch and in Keras (``keras:`` + the id: KerasHub's timm converter)."""
    timm_id = (spec or "").strip().removeprefix(KERAS_PREFIX)
    if not timm_id.startswith("timm/"):
        raise UserInputError(
            "The cross-check needs a timm checkpoint that KerasHub converts (ResNet, EfficientNet, MobileNet, "
            f"DenseNet, VGG, CSPNet), such as {DEFAULT_TIMM_MODEL!r}; got {spec!r}."
        )
    return load_model(timm_id), load_model(KERAS_PREFIX + timm_id)


def both_frameworks(method: Method) -> bool:
    """Whether the method has an implementation on each side (ours in PyTorch, Xplique's in Keras)."""
    return method.attribute is not None and method.keras is not None


def cross_methods() -> list[Method]:
    """The registered methods the cross-check can compare: those implemented in both frameworks."""
    return [method for method in METHODS.values() if both_frameworks(method)]


@dataclass
class MethodAgreement:
    """One method's maps in both frameworks (seed 0 where it draws random numbers) and how far they agree."""

    method: Method
    pytorch: Explanation
    keras: Explanation
    correlation: float
    """Pearson correlation of the two maps (stochastic methods: the mean over the seeds of each side)."""
    threshold: float
    """What it must reach: 0.99, or 0.9 x sqrt(r_pytorch x r_keras) for a random method."""
    reliabilities: tuple[float, float] | None = None
    """A random method's seed-to-seed correlation in PyTorch and in Keras."""

    @property
    def agrees(self) -> bool:
        return self.correlation >= self.threshold

    def record(self) -> dict[str, Any]:
        return {
            "method": self.method.name,
            "key": self.method.key,
            "correlation": round(self.correlation, 4),
            "threshold": round(self.threshold, 4),
            "rule": "statistical (seeds)" if self.reliabilities else "deterministic",
            "seed_to_seed": [round(r, 4) for r in self.reliabilities] if self.reliabilities else None,
            "agrees": self.agrees,
            "params": self.pytorch.params,
            "seconds": {"pytorch": round(self.pytorch.seconds, 3), "keras": round(self.keras.seconds, 3)},
        }


@dataclass
class CrossCheck:
    """The logits and the maps of one checkpoint in PyTorch and in Keras, on one photo."""

    pytorch_model: str
    keras_model: str
    logits_max_difference: float
    logits_scale: float
    top1: tuple[int, int]
    target: int
    target_label: str
    methods: list[MethodAgreement]

    @property
    def logits_relative_difference(self) -> float:
        return self.logits_max_difference / max(self.logits_scale, 1e-12)

    def verdict(self) -> str:
        """What was compared and how it came out, in words."""
        same_top1 = "the same top-1 class" if self.top1[0] == self.top1[1] else "DIFFERENT top-1 classes"
        lines = [
            f"Logits: largest difference {self.logits_max_difference:.2e} "
            f"({self.logits_relative_difference:.1e} of the largest logit), {same_top1}."
        ]
        for row in self.methods:
            rule = (
                f"0.9 x sqrt({row.reliabilities[0]:.2f} x {row.reliabilities[1]:.2f}), the seeds' own agreement"
                if row.reliabilities
                else f"{DETERMINISTIC_AGREEMENT}"
            )
            lines.append(
                f"{row.method.name}: correlation {row.correlation:.3f} (needs {row.threshold:.3f}: {rule}): "
                f"{'agree' if row.agrees else 'DISAGREE'}."
            )
        return "\n".join(lines)

    def record(self) -> dict[str, Any]:
        return {
            "check": "the same weights in PyTorch and in Keras (KerasHub's timm converter)",
            "pytorch_model": self.pytorch_model,
            "keras_model": self.keras_model,
            "logits": {
                "max_abs_difference": self.logits_max_difference,
                "relative_to_largest_logit": self.logits_relative_difference,
                "top1": {"pytorch": self.top1[0], "keras": self.top1[1]},
            },
            "target": {"index": self.target, "label": self.target_label},
            "methods": [row.record() for row in self.methods],
        }


def check_pair(pytorch: LoadedModel, keras: LoadedModel) -> None:
    """Both models take the same pixels: PyTorch and Keras, the same preprocessing and classes."""
    if pytorch.framework == KERAS or keras.framework != KERAS:
        raise UserInputError("The cross-check compares a PyTorch model with its Keras conversion, in that order.")
    if pytorch.preprocessing != keras.preprocessing or pytorch.labels != keras.labels:
        raise UserInputError(
            f"{pytorch.name} and {keras.name} do not take the same input or predict the same classes, so their "
            "maps cannot be compared pixel for pixel. Use a timm id and its keras: conversion."
        )


@torch.no_grad()
def logits_of(model: LoadedModel, image: np.ndarray, framing: str) -> np.ndarray:
    return model.module(model.preprocessing.to_tensor(image, framing))[0].numpy().astype(np.float64)


def _seen(explanation: Explanation) -> np.ndarray:
    return explanation.input_map if explanation.input_map is not None else explanation.seen


def cross_check(
    pytorch: LoadedModel,
    keras: LoadedModel,
    image: np.ndarray,
    methods: Sequence[str] = DEFAULT_CROSS_METHODS,
    preset: str = "fast",
    progress: ProgressFn | None = None,
    framing: str = "crop",
) -> CrossCheck:
    """Logits and maps of ``pytorch`` and its Keras conversion ``keras`` on ``image``, for each of ``methods``
    (keys or names; each must be implemented in both frameworks) at ``preset``, explaining PyTorch's top-1 class."""
    check_pair(pytorch, keras)
    specs = [get_method(name) for name in methods]
    if not specs:
        raise UserInputError("Choose at least one method to compare across the two frameworks.")
    for spec in specs:
        if not both_frameworks(spec):
            raise UserInputError(
                f"{spec.name} is not implemented in both frameworks here. Methods the cross-check can compare: "
                f"{', '.join(m.name for m in cross_methods())}."
            )
    torch_logits, keras_logits = logits_of(pytorch, image, framing), logits_of(keras, image, framing)
    target = int(torch_logits.argmax())
    runs = sum(2 * (len(SEEDS) if spec.stochastic else 1) for spec in specs)
    done = itertools.count()

    def run(model: LoadedModel, spec: Method, seed: int | None) -> Explanation:
        params: dict[str, Any] = {"preset": preset}
        if seed is not None:
            params["seed"] = seed
        step = next(done)
        report: Callable[[float, str], None] | None = None
        if progress is not None:
            framework = "Keras" if model.framework == KERAS else "PyTorch"

            def report(fraction: float, text: str) -> None:
                progress((step + fraction) / runs, f"{spec.name} in {framework}: {text}")

        return explain(model, image, spec.key, target, params, report, framing=framing)

    rows = []
    for spec in specs:
        if not spec.stochastic:
            ours, theirs = run(pytorch, spec, None), run(keras, spec, None)
            rows.append(
                MethodAgreement(spec, ours, theirs, correlation(_seen(ours), _seen(theirs)), DETERMINISTIC_AGREEMENT)
            )
            continue
        ours_all = [run(pytorch, spec, seed) for seed in SEEDS]
        theirs_all = [run(keras, spec, seed) for seed in SEEDS]
        r_ours = correlation(_seen(ours_all[0]), _seen(ours_all[1]))
        r_theirs = correlation(_seen(theirs_all[0]), _seen(theirs_all[1]))
        cross = float(np.mean([correlation(_seen(a), _seen(b)) for a in ours_all for b in theirs_all]))
        threshold = STATISTICAL_SHARE * math.sqrt(max(r_ours, 0.0) * max(r_theirs, 0.0))
        rows.append(MethodAgreement(spec, ours_all[0], theirs_all[0], cross, threshold, (r_ours, r_theirs)))
    return CrossCheck(
        pytorch_model=pytorch.name,
        keras_model=keras.name,
        logits_max_difference=float(np.abs(torch_logits - keras_logits).max()),
        logits_scale=float(np.abs(torch_logits).max()),
        top1=(target, int(keras_logits.argmax())),
        target=target,
        target_label=pytorch.labels[target],
        methods=rows,
    )


def cross_check_cost(
    pytorch: LoadedModel, keras: LoadedModel, methods: Sequence[str], preset: str = "fast"
) -> tuple[float, int]:
    """Seconds here and model evaluations of ``cross_check`` (each method in both frameworks, twice per random one)."""
    seconds, evaluations = 0.0, 0
    for name in methods:
        spec = get_method(name)
        runs = len(SEEDS) if spec.stochastic else 1
        for model in (pytorch, keras):
            one = estimate(model, spec.key, {"preset": preset})
            seconds += runs * one.seconds
            evaluations += runs * one.cost.evaluations
    return seconds, evaluations
