"""The detection explainers' entry point: (detector, image, box index, method, parameters) -> Explanation."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from explainers.base import Explanation, ProgressFn
from explainers.counting import CountingModel
from explainers.detection.registry import DETECTION_METHODS
from explainers.detection.target import BoxProblem
from explainers.explain import Estimate, seed_everything
from explainers.limits import check_work
from explainers.registry import get_method, parse_params, validate_params
from explainers.throughput import measure, predicted_seconds, record_run
from hub_models.detectors import LoadedDetector, box_scores
from hub_models.errors import UserInputError, shown

MEASURE_BATCH = 2
"""Detectors' throughput is measured on batches of 2: batches of 16 take minutes on DETR-sized models here. A
method's measured overhead factor (recorded after each run) absorbs the difference from its own batch size."""


def estimate_box(detector: LoadedDetector, method: str, params: str | dict[str, Any] | None = None) -> Estimate:
    """The cost of a run, from the method's cost model and this detector's throughput measured here."""
    spec = get_method(method, DETECTION_METHODS)
    values = validate_params(spec, parse_params(params))
    size = detector.preprocessing.input_size
    cost = spec.cost(values, size)
    measure(detector.module, size, MEASURE_BATCH)
    return Estimate(spec, values, cost, predicted_seconds(detector.module, size, spec.key, cost))


def explain_box(
    detector: LoadedDetector,
    image: np.ndarray,
    box_index: int | float | str | None,
    method: str,
    params: str | dict[str, Any] | None = None,
    letterbox: bool = True,
    progress: ProgressFn | None = None,
) -> Explanation:
    """Explain why ``detector`` finds its pre-NMS box ``box_index`` (the ``index`` /detect reports) on an HxWx3
    uint8 image; the map has the image's size and ``extra`` holds the box in photo pixels, its label and score."""
    spec = get_method(method, DETECTION_METHODS)
    values = validate_params(spec, parse_params(params))
    size = detector.preprocessing.input_size
    cost = spec.cost(values, size)
    check_work(cost.evaluations, f"{spec.name} with these parameters")
    inputs, rows, geometry = detector.boxes(image, letterbox)
    index = _box_index(box_index, rows.shape[0])
    scores, classes = box_scores(rows)
    counting = CountingModel(detector.module, cost.evaluations, progress)
    problem = BoxProblem(model=counting, inputs=inputs, target=rows[index].clone())
    if spec.stochastic:
        seed_everything(values["seed"], tensorflow=False)
    start = time.perf_counter()
    raw = spec.attribute(problem, values)
    seconds = time.perf_counter() - start
    measure(detector.module, size, MEASURE_BATCH)
    record_run(detector.module, size, spec.key, cost, seconds)
    label = detector.labels[int(classes[index])]
    box = [round(float(v), 1) for v in geometry.boxes_to_image(rows[index, :4].numpy())]
    return Explanation(
        attribution=geometry.map_to_image(np.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0)),
        method=spec.name,
        target=index,
        target_label=label,
        params=values,
        evaluations=counting.evaluations,
        seconds=seconds,
        backend=spec.backend,
        extra={"box": box, "score": round(float(scores[index]), 4), "letterbox": bool(letterbox)},
    )


def _box_index(value: int | float | str | None, count: int) -> int:
    """A whole number in ``0 .. count - 1``; a clear message otherwise."""
    text = str(value).strip() if value is not None else ""
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not text or not math.isfinite(number) or number != int(number):
        raise UserInputError(
            f"Box index {shown(value)} is not a whole number. Run detection first and pick a box: its index is in the "
            "detections' 'indices'."
        )
    if not 0 <= int(number) < count:
        raise UserInputError(
            f"Box index {int(number)} is out of range: this detector predicts boxes 0 to {count - 1} before NMS. "
            "Use an index that detection reported ('indices' in the detections)."
        )
    return int(number)
