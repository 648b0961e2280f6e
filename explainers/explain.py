"""The explainer layer's entry point: (model, image, method, target, parameters) -> Explanation."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from explainers.base import Cost, Explanation, Method, Problem, ProgressFn
from explainers.counting import CountingModel
from explainers.families import check_applies, implementation
from explainers.limits import check_work, work_note
from explainers.presets import all_params, machine_of
from explainers.registry import METHODS, get_method, parse_params, validate_params
from explainers.runtime import import_xplique, retrace_xplique_random_functions
from explainers.throughput import predicted_seconds, record_run
from hub_models.framing import DEFAULT_FRAMING, check_framing
from hub_models.keras_models import KERAS
from hub_models.loaded_model import LoadedModel


@dataclass(frozen=True)
class Estimate:
    """What a run will cost before it starts."""

    method: Method
    params: dict[str, Any]
    cost: Cost
    seconds: float

    def describe(self) -> str:
        """The preview's sentence: evaluations, the counts that set them (sized to this machine by the presets) and
        the seconds they take here."""
        counts = ", ".join(f"{p.name} = {self.params[p.name]:,}" for p in all_params(self.method) if p.sized)
        return (
            f"{self.method.name}: about {self.cost.evaluations:,} model evaluations "
            f"({self.cost.forward:,} forward, {self.cost.backward:,} forward+backward)"
            f"{f' for {counts}' if counts else ''}, about {self.seconds:.1f} s here.{work_note(self.cost.evaluations)}"
        )


def estimate(model: LoadedModel, method: str, params: str | dict[str, Any] | None = None) -> Estimate:
    """The cost of a run, from the method's cost model and this model's throughput measured on this machine."""
    spec = get_method(method)
    values = validate_params(spec, parse_params(params), machine_of(model))
    cost = spec.cost(values, model.preprocessing.input_size)
    seconds = predicted_seconds(model.module, model.preprocessing.input_size, spec.key, cost)
    return Estimate(spec, values, cost, seconds)


def seed_everything(seed: int, tensorflow: bool) -> None:
    """The same seed gives the same map: seeds every generator a method may draw from.

    ``tensorflow``: the method runs through Xplique, so TensorFlow is imported first (its seed must be set after).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if tensorflow:
        import_xplique()
        sys.modules["tensorflow"].random.set_seed(seed)
        retrace_xplique_random_functions()


def resize_map(attribution: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an HxW map to ``size`` (height, width); the map itself when it has that size already."""
    if attribution.shape == tuple(size):
        return attribution
    tensor = torch.from_numpy(np.ascontiguousarray(attribution, dtype=np.float32))[None, None]
    return F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def build_problem(
    model: LoadedModel, image: np.ndarray, target: int, counting: CountingModel, framing: str = DEFAULT_FRAMING
) -> Problem:
    """What a method receives: the preprocessed input and its RGB pixels at the model's size, framed as ``framing``
    says, through ``counting``."""
    return _problem(model, model.preprocessing.resize(image, framing), target, counting)


def _problem(model: LoadedModel, framed: torch.Tensor, target: int, counting: CountingModel) -> Problem:
    """A ``Problem`` from the framed pixels in [0, 1] (prepared once: an antialiased resize of a large photo takes
    milliseconds)."""
    return Problem(
        model=counting,
        inputs=model.preprocessing.normalise(framed),
        rgb=framed[0].permute(1, 2, 0).numpy(),
        target=target,
        n_classes=model.n_classes,
    )


def explain(
    model: LoadedModel,
    image: np.ndarray,
    method: str,
    target: str | int | None = None,
    params: str | dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    *,
    framing: str = DEFAULT_FRAMING,
    record_timing: bool = True,
) -> Explanation:
    """Explain ``model``'s score for ``target`` (blank: top-1) on an HxWx3 uint8 image; the map has the image's size.

    ``framing`` (``hub_models.framing``): "crop", the model's own preprocessing, or "whole image", letterboxed. The
    map is placed on the part of the photo the model saw (``Explanation.crop_box``) and is 0 outside it.

    ``record_timing=False`` for a throwaway model (a sanity check's randomised copy): its run teaches the cost model
    nothing, and recording it would first measure the copy's raw throughput (seconds to a minute on a busy CPU).
    """
    spec = get_method(method)
    values = validate_params(spec, parse_params(params), machine_of(model))
    cost = spec.cost(values, model.preprocessing.input_size)
    check_work(cost.evaluations, f"{spec.name} with these parameters")
    framing = check_framing(framing)
    target_index = model.resolve_target(target, image, framing)
    counting = CountingModel(model.module, cost.evaluations, progress)
    framed, geometry = model.preprocessing.prepare(image, framing)
    problem = _problem(model, framed, target_index, counting)
    check_applies(spec, METHODS, problem.model, problem.inputs)
    if spec.stochastic:  # ~0.6 ms (torch.manual_seed queues a CUDA seed with its stack trace): a tenth of Grad-CAM
        seed_everything(values["seed"], tensorflow=spec.backend == "xplique" or model.framework == KERAS)
    start = time.perf_counter()
    raw = implementation(spec, model.module)(problem, values)
    seconds = time.perf_counter() - start
    if record_timing:
        record_run(model.module, model.preprocessing.input_size, spec.key, cost, seconds)
    if not np.isfinite(raw).all():  # a check is a quarter of the cost of cleaning a map that needs none
        raw = np.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0)
    return Explanation(
        attribution=geometry.map_to_image(raw),
        method=spec.name,
        method_key=spec.key,
        task="classification",
        target=target_index,
        target_label=model.labels[target_index],
        params=values,
        evaluations=counting.evaluations,
        seconds=seconds,
        backend="xplique (Keras)" if model.framework == KERAS else spec.backend,
        framing=framing,
        crop_box=geometry.crop_box,
        input_map=raw.astype(np.float32, copy=False),
    )
