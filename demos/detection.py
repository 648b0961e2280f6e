"""The Detection tab: detect objects, pick one box and a method, see the cost, explain it, download the results.

Wiring only: detectors come from ``hub_models.detectors``, maps from ``explainers.detection``, pictures from
``outputs.render``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from demos.components import ImageFile, Slider
from demos.errors import user_facing
from demos.inputs import explanation_outputs, live_cost, uploaded_image
from demos.links import darknet_photo
from demos.method_panel import MethodPanel
from demos.result_cache import cached_result
from demos.tab import Field, Links, Tab
from explainers.detection import DETECTION_METHODS, detector_machine, estimate_box, explain_box
from explainers.localisation import LOCALISATION_SCORES, TOLERANCE
from explainers.runtime import within_memory_budget
from hub_models.assets import DARKNET_PHOTOS
from hub_models.card import model_card
from hub_models.detectors import (
    CURATED_HUB_DETECTORS,
    DEFAULT_DETECTOR,
    DEFAULT_THRESHOLD,
    checked_threshold,
    load_detector,
)
from hub_models.device import gpu_task
from hub_models.errors import UserInputError
from outputs.files import new_result_folder
from outputs.render import draw_detections
from outputs.results import save_explanation

DEFAULT_METHOD = "D-RISE"
PANEL = MethodPanel(DETECTION_METHODS, lambda detector: detector_machine(load_detector(detector)))
"""The method's controls; /explain_box's parameters are ``PANEL.as_json`` of them."""


@user_facing
def detect(
    image: str | None,
    detector: str | None,
    threshold: float = DEFAULT_THRESHOLD,
    letterbox: bool = True,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[Any, dict[str, list]]:
    """The photo with its boxes drawn, and the detections best first: boxes (x1, y1, x2, y2 in photo pixels), labels,
    scores and indices (each box's id, 0, 1, ...: what /explain_box takes). No object above the threshold is a
    result too: empty lists."""
    threshold = checked_threshold(threshold)
    pixels = uploaded_image(image)
    found = load_detector(detector).detect(pixels, threshold, bool(letterbox))
    annotated = draw_detections(
        pixels, [d.box for d in found], [box_caption(i, d.label, d.score) for i, d in enumerate(found)]
    )
    return annotated, {
        "boxes": [list(d.box) for d in found],
        "labels": [d.label for d in found],
        "scores": [round(d.score, 4) for d in found],
        "indices": list(range(len(found))),
    }


def box_caption(box: int, label: str, score: float) -> str:
    """How a box is named on the drawing and in the box field: its label, its score and its id."""
    return f"{label} {score:.2f} (#{box})"


def detect_if_image(image: str | None, detector: str | None, threshold: float, letterbox: bool):
    """On upload or detector change: detect; a cleared image just clears the results (no error)."""
    return detect(image, detector, threshold, letterbox) if image else (None, None)


def box_choices(detections: dict[str, list] | None, threshold: float) -> tuple[dict[str, Any], str]:
    """After detection: the box dropdown offers every box, the best one selected; and what was found, or (nothing
    found) how to find weaker boxes."""
    if detections is None:
        return gr.update(choices=[], value=None), ""
    pairs = zip(detections.get("labels", []), detections.get("scores", []), strict=True)
    choices = [(box_caption(box, label, score), box) for box, (label, score) in enumerate(pairs)]
    if not choices:
        note = (
            f"**No object scores at least {threshold:.2f} here.** Lower the threshold (0.1 finds weaker boxes) or "
            "try a photo with everyday objects (people, animals, vehicles)."
        )
    else:
        note = f"{len(choices)} object{'s' if len(choices) > 1 else ''} at a score of at least {threshold:.2f}."
    return gr.update(choices=choices, value=choices[0][1] if choices else None), note


@user_facing
@cached_result
@within_memory_budget
@gpu_task
def explain_detection(
    image: str | None,
    detector: str | None,
    box: float | str | None,
    method: str,
    params: str | None,
    letterbox: bool = True,
    threshold: float = DEFAULT_THRESHOLD,
    boxes: str | None = None,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[str, str, str, str]:
    """Explains why the detector finds box ``box`` (its id among the detections at ``threshold``, as /detect lists
    them) with ``method`` and ``params``: the overlay PNG (the box outlined), the raw map (.npy, float32, photo
    resolution), the manifest of the run, and all of them with a README (how to replay it with the command line)
    as one zip. The manifest's ``detection.localisation`` scores the map (pointing game, relevance mass and rank)
    against ``boxes`` (JSON, [[x1, y1, x2, y2], ...] in photo pixels) or, without them, the detected box."""
    pixels = uploaded_image(image)
    loaded = load_detector(detector)
    progress(0.0, desc="starting")
    result = explain_box(
        loaded,
        pixels,
        box,
        method,
        params,
        bool(letterbox),
        lambda done, text: progress(done, desc=text),
        threshold=threshold,
        boxes=boxes,
    )
    files = save_explanation(new_result_folder(), loaded, pixels, result, bundle="results").files
    return str(files["overlay"]), str(files["map"]), str(files["manifest"]), str(files["bundle"])


def localisation_table(manifest_file: str | None) -> str:
    """The localisation scores a box's manifest records, as a small table naming the boxes they were scored on."""
    if not manifest_file:
        return ""
    scores = json.loads(Path(manifest_file).read_text()).get("detection", {}).get("localisation")
    if not scores:
        return ""
    if "not_scored" in scores:
        return f"**Localisation against {scores['against']}:** not scored ({scores['not_scored']})"
    rows = "\n".join(
        f"| {label} | {scores[key]:.3f} | {'higher' if higher else 'lower'} is better |"
        for key, (label, higher) in LOCALISATION_SCORES.items()
    )
    boxes = "; ".join(", ".join(f"{v:g}" for v in box) for box in scores["boxes"])
    return (
        f"**Localisation against {scores['against']}** ({boxes}; pointing game within {TOLERANCE} px)\n\n"
        f"| Score | Value | |\n|---|---|---|\n{rows}"
    )


@user_facing
def show_detector_card(detector: str | None) -> str:
    """The detector's card; one that does not load says why there instead."""
    try:
        return model_card(load_detector(detector))  # type: ignore[arg-type]
    except UserInputError as error:
        return f"**Detector not loaded:** {error}"


@user_facing
def cost_preview(detector: str | None, method: str, *values: Any) -> str:
    """The cost of the run the controls describe."""
    return "**Cost:** " + estimate_box(load_detector(detector), method, PANEL.as_json(method, *values)).describe()


def build(app: gr.Blocks, _tabs: Sequence[Tab]) -> Links:
    """Lays out the tab inside ``app`` (the enclosing ``gr.Blocks``), binds its events; returns its link fields."""
    photos = [str(asset.path) for asset in DARKNET_PHOTOS.values() if asset.path.is_file()]

    with gr.Row():
        with gr.Column(scale=5):
            image = ImageFile(type="filepath", label="Image", height=320, elem_id="det-image")
            if photos:
                gr.Examples([[p] for p in photos], inputs=[image], label="Darknet's photos (one click)")
            detector = gr.Dropdown(
                choices=[(f"{DEFAULT_DETECTOR} (embedded, COCO)", DEFAULT_DETECTOR), *CURATED_HUB_DETECTORS],
                value=DEFAULT_DETECTOR,
                allow_custom_value=True,
                label="Detector",
                info="The embedded YOLOv3-tiny, or a transformers object detector on the Hub: org/name[@revision]",
            )
            card = gr.Markdown(elem_id="det-card")
            with gr.Row():
                threshold = Slider(0.01, 0.99, value=DEFAULT_THRESHOLD, step=0.01, label="Score threshold")
                letterbox = gr.Checkbox(value=True, label="Letterbox (keep the aspect ratio)")
            detect_button = gr.Button("Detect", elem_id="det-detect")
            annotated = gr.Image(
                label="Detections", format="png", type="numpy", interactive=False, elem_id="det-annotated"
            )
            found = gr.Markdown(elem_id="det-found")
            with gr.Accordion("Detections as JSON (what /detect returns)", open=False):
                detections = gr.JSON(label="Detections (boxes, labels, scores, indices)")
        with gr.Column(scale=5):
            box = gr.Dropdown(
                [],
                value=None,
                allow_custom_value=True,
                label="Box to explain",
                info="Its id among the detections, best first: 0, 1, ...",
                elem_id="det-box",
            )
            method = PANEL.build_method(DEFAULT_METHOD, "det-method")
            PANEL.build_parameters(app, detector, "explain_box")
            marks = gr.Textbox(
                label="Where the object is (optional): boxes to score the map against",
                placeholder="[[x1, y1, x2, y2], ...] in photo pixels; empty: the detected box",
                info="Pointing game, relevance mass and relevance rank are measured against these boxes.",
                elem_id="det-marks",
            )
            cost = gr.Markdown(elem_id="det-cost")
            explain_button = gr.Button("Explain this box", variant="primary", elem_id="det-explain")
        with gr.Column(scale=6):
            overlay, raw_map, record, bundle = explanation_outputs("det", "Saliency for the box")
            scores = gr.Markdown(elem_id="det-localisation")

    detect_inputs = [image, detector, threshold, letterbox]
    detect_button.click(detect, detect_inputs, [annotated, detections], api_name="detect").success(
        box_choices, [detections, threshold], [box, found], api_visibility="private"
    )
    # Box ids are positions among the detections at the threshold: a new threshold detects again.
    gr.on(
        [image.change, detector.change, letterbox.change, threshold.release],
        detect_if_image,
        detect_inputs,
        [annotated, detections],
        api_visibility="private",
        show_progress="minimal",
    ).success(box_choices, [detections, threshold], [box, found], api_visibility="private")
    live_cost(app, cost_preview, [detector, *PANEL.inputs], cost)
    gr.on([app.load, detector.change], show_detector_card, detector, card, api_visibility="private")
    # As in the CNN tab: parameters are read from the controls at the click, then /explain_box runs.
    explain_button.click(
        PANEL.as_json, PANEL.inputs, PANEL.params, api_visibility="private", show_progress="hidden"
    ).then(
        explain_detection,
        [image, detector, box, method, PANEL.params, letterbox, threshold, marks],
        [overlay, raw_map, record, bundle],
        api_name="explain_box",
    ).success(localisation_table, record, scores, api_visibility="private", show_progress="hidden")
    return Links({"example": Field(image, darknet_photo)})


def warm_up() -> None:
    """Load the embedded detector and measure its throughput once, so the first cost preview is instant."""
    estimate_box(load_detector(None), DEFAULT_METHOD)


TAB = Tab(
    "detection",
    "Detection",
    "Explain one box of an object detector (embedded YOLOv3-tiny or a Hub detector).",
    build,
    example={"example": "dog"},
    warm_up=warm_up,
)
