"""Localisation of an attribution map against boxes the user marks: does the map point at the object?

Three scores, each in [0, 1], higher is better, computed on the map at the *image's* resolution (the photo's pixels,
0 outside a classifier's crop), against the union ``M`` of the boxes (pixels whose centre lies in a box):

* **Pointing game** (Zhang et al., "Top-down Neural Attention by Excitation Backprop", IJCV 2018): a hit (1.0) when
  the map's maximum lies within ``tolerance`` pixels (Euclidean, pixel centre to pixel centre) of ``M``, a miss (0.0)
  otherwise. The paper's tolerance is 15 pixels (``TOLERANCE``); 0 means "inside a box", Quantus' ``PointingGame``.
* **Relevance mass accuracy** (Arras, Osman, Samek, "CLEVR-XAI", Information Fusion 2022):
  ``R_within / R_total``, the share of the map's relevance that falls inside ``M``.
* **Relevance rank accuracy** (same paper): with ``K = |M|``, the share of the map's ``K`` most relevant pixels that
  lie inside ``M``: ``|top_K ∩ M| / K``.

Conventions, and why:

* **Positive relevance only.** Arras et al. score the positive part of the relevance (negative relevance is evidence
  *against* the class, not a location of the object), and Quantus with ``abs=False`` on a non-negative map gives the
  same numbers: the map is clipped at 0 first (``positive = max(a, 0)``). The maps this app shows are non-negative for
  most methods anyway (CAMs after ReLU, absolute gradients); signed maps (Integrated Gradients, LIME, SHAP) are scored
  on their positive evidence. Quantus' max-normalisation is not applied: every score is invariant to it.
* **A map with no positive relevance** (all <= 0) points at nothing: all three scores are 0.0, not 0/0.
* **Ties** are scored as the expected value under a uniformly random choice among tied pixels, so no pixel order
  (raster order, a sort's whim) decides a score: when the maximum is attained at several pixels, the pointing game is
  the share of them that hit (1.0 or 0.0 for a single maximum, as in the paper; Quantus instead counts a hit when
  *any* maximum hits); when the ``K``-th most relevant value is tied, the tied pixels share the remaining places in
  proportion (Quantus' ``argsort`` picks some of them arbitrarily). Without ties both agree with Quantus 0.6 exactly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hub_models.errors import UserInputError, shown

Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 in the pixels of the image the user gave (not the model's input); x to the right, y down."""

MAX_BOXES = 20
"""More marks than this are refused: localisation asks where *the* object is, not for a segmentation."""
TOLERANCE = 15
"""The pointing game's tolerance in pixels, as Zhang et al. (2018) score it."""

LOCALISATION_SCORES: dict[str, tuple[str, bool]] = {
    "pointing_game": ("Pointing game", True),
    "relevance_mass": ("Relevance mass", True),
    "relevance_rank": ("Relevance rank", True),
}
"""Each score's key -> (label, higher is better)."""

_HOW = "Give boxes as JSON: a list of [x1, y1, x2, y2] in image pixels, e.g. [[10, 20, 200, 180]]."


@dataclass(frozen=True)
class Localisation:
    pointing_game: float
    relevance_mass: float
    relevance_rank: float

    def as_dict(self) -> dict[str, float]:
        return {key: round(float(getattr(self, key)), 5) for key in LOCALISATION_SCORES}


def parse_boxes(value: str | list | dict | None, image_size: tuple[int, int]) -> list[Box]:
    """Boxes from JSON text or a list, checked against the image of ``image_size`` = (height, width).

    Accepted: ``None``, ``""`` or ``[]`` (no boxes: ``[]``); a list of ``[x1, y1, x2, y2]``; one flat box; dicts with
    ``xmin, ymin, xmax, ymax`` (what ``gradio_image_annotation`` gives), or its whole value ``{"boxes": [...]}``.
    Boxes partly outside the image are clipped to it; one entirely outside, an empty one (``x2 <= x1``), one that
    covers no pixel centre, a wrong length, text that is not JSON or more than ``MAX_BOXES`` boxes are refused with a
    message.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserInputError(f"The boxes {shown(text)} are not valid JSON ({error.msg}). {_HOW}") from None
    if value is None:
        return []
    if isinstance(value, dict) and "boxes" in value:
        value = value["boxes"]
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and value and all(_is_number(v) for v in value)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise UserInputError(f"The boxes must be a list, got {shown(value)}. {_HOW}")
    if len(value) > MAX_BOXES:
        raise UserInputError(f"{len(value)} boxes is more than the {MAX_BOXES} allowed: mark the object(s) only.")
    height, width = image_size
    return [_checked_box(item, number, height, width) for number, item in enumerate(value, start=1)]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked_box(item: Any, number: int, height: int, width: int) -> Box:
    """One box as four finite floats, clipped to the image; a message naming box ``number`` otherwise."""
    if isinstance(item, dict):
        try:
            item = [item["xmin"], item["ymin"], item["xmax"], item["ymax"]]
        except KeyError as missing:
            raise UserInputError(
                f"Box {number} {shown(item)} lacks {missing}: a box dict needs xmin, ymin, xmax and ymax."
            ) from None
    if not isinstance(item, (list, tuple)) or len(item) != 4 or not all(_is_number(v) for v in item):
        raise UserInputError(f"Box {number} {shown(item)} is not four numbers [x1, y1, x2, y2]. {_HOW}")
    x1, y1, x2, y2 = (float(v) for v in item)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise UserInputError(f"Box {number} {shown(item)} has a coordinate that is not a finite number.")
    if x2 <= x1 or y2 <= y1:
        raise UserInputError(
            f"Box {number} {shown(item)} is empty: it needs x2 > x1 and y2 > y1 ([x1, y1, x2, y2], top-left first)."
        )
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise UserInputError(
            f"Box {number} {shown(item)} lies entirely outside the image, which is {width} x {height} pixels "
            "(width x height): give coordinates in the image's own pixels."
        )
    clipped = (max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height)))
    if not _box_spans([clipped], (height, width)):
        raise UserInputError(
            f"Box {number} {shown(item)} covers no pixel of the image (no pixel centre x + 0.5, y + 0.5 lies in it): "
            "make it at least a pixel wide and tall."
        )
    return clipped


def _pixel_span(low: float, high: float, count: int) -> tuple[int, int]:
    """The pixel indices ``[first, last)`` whose centre ``i + 0.5`` lies in ``[low, high]``."""
    first = max(math.ceil(low - 0.5), 0)
    last = min(math.floor(high - 0.5) + 1, count)
    return first, max(last, first)


def _box_spans(boxes: list[Box], shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Each box as pixel index spans (row0, row1, col0, col1), half-open; empty ones dropped."""
    height, width = shape
    spans = []
    for x1, y1, x2, y2 in boxes:
        row0, row1 = _pixel_span(y1, y2, height)
        col0, col1 = _pixel_span(x1, x2, width)
        if row1 > row0 and col1 > col0:
            spans.append((row0, row1, col0, col1))
    return spans


def box_mask(boxes: list[Box], shape: tuple[int, int]) -> np.ndarray:
    """Boolean HxW mask, the union of ``boxes``: pixel (row, col) is inside when its centre (col + 0.5, row + 0.5)
    lies in a box (edges included)."""
    mask = np.zeros(shape, dtype=bool)
    for row0, row1, col0, col1 in _box_spans(boxes, shape):
        mask[row0:row1, col0:col1] = True
    return mask


def _distance_to_boxes(rows: np.ndarray, cols: np.ndarray, spans: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Euclidean distance (in pixels, centre to centre) from each (row, col) to the nearest pixel of any box."""
    nearest = np.full(rows.shape, np.inf)
    for row0, row1, col0, col1 in spans:
        dy = np.maximum(np.maximum(row0 - rows, rows - (row1 - 1)), 0)
        dx = np.maximum(np.maximum(col0 - cols, cols - (col1 - 1)), 0)
        nearest = np.minimum(nearest, np.hypot(dx, dy))
    return nearest


def localisation(attribution: np.ndarray, boxes: list[Box], tolerance: int = TOLERANCE) -> Localisation:
    """The three scores of an HxW ``attribution`` (at the image's resolution) against ``boxes`` (image pixels).

    ``tolerance``: the pointing game's, in pixels (``TOLERANCE``, the paper's 15, by default; 0 = strictly inside).
    """
    attribution = np.asarray(attribution, dtype=np.float64)
    if attribution.ndim != 2:
        raise UserInputError(f"A localisation score needs an HxW map, got the shape {attribution.shape}.")
    if tolerance < 0:
        raise UserInputError(f"The pointing game's tolerance must be 0 or more pixels, got {tolerance}.")
    spans = _box_spans(boxes, attribution.shape)
    if not spans:
        raise UserInputError(
            "The boxes cover no pixel of the image: mark the object with at least one box of a pixel or more."
        )
    mask = box_mask(boxes, attribution.shape)
    positive = np.nan_to_num(np.clip(attribution, 0.0, None), nan=0.0, posinf=0.0)
    total = positive.sum()
    if not total > 0:
        return Localisation(0.0, 0.0, 0.0)
    peak_rows, peak_cols = np.nonzero(positive == positive.max())
    hits = _distance_to_boxes(peak_rows, peak_cols, spans) <= tolerance
    return Localisation(
        pointing_game=float(hits.mean()),
        relevance_mass=float(positive[mask].sum() / total),
        relevance_rank=_rank_accuracy(positive.reshape(-1), mask.reshape(-1)),
    )


def _rank_accuracy(values: np.ndarray, inside: np.ndarray) -> float:
    """``|top_K ∩ M| / K`` with ``K = |M|``; the pixels tied at the K-th value share the remaining places."""
    k = int(inside.sum())
    threshold = np.partition(values, values.size - k)[values.size - k]
    above = values > threshold
    tied = values == threshold
    places = k - int(above.sum())
    hits = float(np.count_nonzero(above & inside)) + places * np.count_nonzero(tied & inside) / tied.sum()
    return hits / k
