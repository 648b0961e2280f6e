"""The detection explainers' entry point: (detector, image, box index, method, parameters) -> Explanation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from explainers.base import Explanation, ProgressFn
from explainers.counting import CountingModel
from explainers.detection.registry import DETECTION_METHODS
from explainers.detection.target import BoxProblem
from explainers.explain import Estimate, seed_everything
from explainers.limits import check_work
from explainers.localisation import Box, localisation, parse_boxes
from explainers.presets import Machine, machine_of
from explainers.registry import get_method, parse_params, validate_params
from explainers.throughput import measure, predicted_seconds, record_run
from hub_models.detectors import DEFAULT_THRESHOLD, Detection, LoadedDetector, box_scores, checked_threshold
from hub_models.errors import UserInputError, shown

MEASURE_BATCH = 2
"""Detectors' throughput is measured on batches of 2: batches of 16 take minutes on DETR-sized models here. A
method's measured overhead factor (recorded after each run) absorbs the difference from its own batch size."""
MAX_LISTED = 10
"""Box ids a refusal lists, with their labels."""


def detector_machine(detector: LoadedDetector) -> Callable[[], Machine]:
    """The detector's speed here, what its presets are sized to (measured on batches of ``MEASURE_BATCH``)."""
    return machine_of(detector, MEASURE_BATCH)


def estimate_box(detector: LoadedDetector, method: str, params: str | dict[str, Any] | None = None) -> Estimate:
    """The cost of a run, from the method's cost model and this detector's throughput measured here."""
    spec = get_method(method, DETECTION_METHODS)
    values = validate_params(spec, parse_params(params), detector_machine(detector))
    size = detector.preprocessing.input_size
    cost = spec.cost(values, size)
    measure(detector.module, size, MEASURE_BATCH)
    return Estimate(spec, values, cost, predicted_seconds(detector.module, size, spec.key, cost))


def explain_box(
    detector: LoadedDetector,
    image: np.ndarray,
    box: int | float | str | None,
    method: str,
    params: str | dict[str, Any] | None = None,
    letterbox: bool = True,
    progress: ProgressFn | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    candidate: int | None = None,
    boxes: str | list | None = None,
) -> Explanation:
    """Explain why ``detector`` finds box ``box`` on an HxWx3 uint8 image: the box's id among the detections at
    ``threshold`` (0, 1, ... in the order ``detect`` lists them). The map has the image's size; ``extra`` holds the
    box in photo pixels, its score, the framing, the threshold and the box's row among the pre-NMS ``candidate``s.

    ``candidate``: explain that pre-NMS row instead of a detection (what manifests recorded before boxes had ids).
    ``boxes``: where the object is, as the user marks it (``explainers.localisation.parse_boxes``: JSON or a list of
    [x1, y1, x2, y2] in image pixels); the map's localisation scores are computed against them, or against the
    detected box when none are given, and recorded in ``extra["localisation"]``.
    """
    marks = parse_boxes(boxes, image.shape[:2])  # before the run: a bad mark costs no model evaluation
    spec = get_method(method, DETECTION_METHODS)
    values = validate_params(spec, parse_params(params), detector_machine(detector))
    size = detector.preprocessing.input_size
    cost = spec.cost(values, size)
    check_work(cost.evaluations, f"{spec.name} with these parameters")
    inputs, rows, geometry = detector.boxes(image, letterbox)
    if candidate is None:
        threshold = checked_threshold(threshold)
        detections = detector.detections(rows, geometry, threshold)
        target = _box_id(box, detections, detector.name, threshold)
        row = detections[target].candidate
        where = {"threshold": threshold, "candidate": row}
    else:
        target = row = _candidate(candidate, rows.shape[0])
        where = {"candidate": row}
    scores, classes = box_scores(rows)
    counting = CountingModel(detector.module, cost.evaluations, progress)
    problem = BoxProblem(model=counting, inputs=inputs, target=rows[row].clone())
    if spec.stochastic:
        seed_everything(values["seed"], tensorflow=False)
    start = time.perf_counter()
    raw = spec.attribute(problem, values)
    seconds = time.perf_counter() - start
    measure(detector.module, size, MEASURE_BATCH)
    record_run(detector.module, size, spec.key, cost, seconds)
    corners = [round(float(v), 1) for v in geometry.boxes_to_image(rows[row, :4].numpy())]
    attribution = geometry.map_to_image(np.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0))
    return Explanation(
        attribution=attribution,
        method=spec.name,
        method_key=spec.key,
        task="detection",
        target=target,
        target_label=detector.labels[int(classes[row])],
        params=values,
        evaluations=counting.evaluations,
        seconds=seconds,
        backend=spec.backend,
        extra={
            "box": corners,
            "score": round(float(scores[row]), 4),
            "letterbox": bool(letterbox),
            **where,
            "localisation": box_localisation(attribution, marks, corners),
        },
    )


def box_localisation(attribution: np.ndarray, marks: list[Box], detected: list[float]) -> dict[str, Any]:
    """The map's localisation scores (pointing game, relevance mass, relevance rank) against the user's ``marks``,
    or against the ``detected`` box (clipped to the image) when there are none: what the object's own box says about
    where the map points. The record names which boxes were used; a detected box that covers no pixel of the image
    (in the letterbox's padding, or thinner than a pixel) is recorded as ``not_scored`` with the reason."""
    against = "your boxes" if marks else "the detected box"
    used = marks
    if not marks:
        try:
            used = parse_boxes([detected], attribution.shape)
        except UserInputError as why:  # a box in the letterbox's padding, or thinner than a pixel: no mark to score
            return {"against": against, "boxes": [], "not_scored": str(why)}
    return {"against": against, "boxes": [list(b) for b in used], **localisation(attribution, used).as_dict()}


def _whole_number(value: object) -> int | None:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


def _box_id(value: object, detections: list[Detection], detector: str, threshold: float) -> int:
    """A box id among ``detections``; a message naming the valid ids otherwise."""
    number = _whole_number(value)
    if not detections:
        raise UserInputError(
            f"{detector} found no object scoring at least {threshold:.2f} in this image, so there is no box to "
            "explain: lower the threshold (0.1 finds weaker boxes)."
        )
    if number is None or not 0 <= number < len(detections):
        valid = ", ".join(f"{i} ({d.label} {d.score:.2f})" for i, d in enumerate(detections[:MAX_LISTED]))
        more = f" and {len(detections) - MAX_LISTED} more" if len(detections) > MAX_LISTED else ""
        raise UserInputError(
            f"Box {shown(value if number is None else number)} is not one of the detections at threshold "
            f"{threshold:.2f}: the boxes are {valid}{more}. Pass one of those ids (the order /detect lists them in)."
        )
    return number


def _candidate(value: object, count: int) -> int:
    """A pre-NMS row in ``0 .. count - 1``, as an older manifest recorded it."""
    number = _whole_number(value)
    if number is None or not 0 <= number < count:
        raise UserInputError(
            f"The manifest's box {shown(value)} is not one of this detector's {count} candidate boxes: replay it "
            "with the detector and image it was made with."
        )
    return number
