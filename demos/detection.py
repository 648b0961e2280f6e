"""The Detection tab: detect objects, pick one box and a method, see the cost, explain it, download the results.

Wiring only: detectors come from ``hub_models.detectors``, maps from ``explainers.detection``, pictures from
``demos.render``.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from demos.components import ImageFile, Slider
from demos.downloads import new_result_folder
from demos.errors import user_facing
from demos.export import detect_command, write_bundle
from demos.inputs import explanation_outputs, live_cost, uploaded_image
from demos.links import Field, darknet_photo
from demos.method_panel import MethodPanel
from demos.render import box_overlay_figure, draw_detections
from demos.result_cache import cached_result
from demos.results import write_explanation
from explainers.detection import DETECTION_METHODS, estimate_box, explain_box
from explainers.manifest import manifest
from explainers.registry import get_method
from explainers.runtime import within_memory_budget
from hub_models.assets import DARKNET_PHOTOS
from hub_models.card import model_card
from hub_models.detectors import CURATED_HUB_DETECTORS, DEFAULT_DETECTOR, checked_threshold, load_detector
from hub_models.device import gpu_task
from hub_models.errors import UserInputError

DEFAULT_METHOD = "D-RISE"
DEFAULT_THRESHOLD = 0.25
PANEL = MethodPanel(DETECTION_METHODS)
"""The method's controls; /explain_box's parameters are ``PANEL.as_json`` of them."""


@user_facing
def detect(
    image: str | None,
    detector: str | None,
    threshold: float = DEFAULT_THRESHOLD,
    letterbox: bool = True,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[Any, dict[str, list]]:
    """The photo with its boxes drawn, and the detections: boxes (x1, y1, x2, y2 in photo pixels), labels, scores
    and indices (what /explain_box takes as the box index)."""
    threshold = checked_threshold(threshold)
    pixels = uploaded_image(image)
    loaded = load_detector(detector)
    found = loaded.detect(pixels, threshold, bool(letterbox))
    if not found:
        raise UserInputError(
            f"{loaded.name} found no object scoring at least {threshold:.2f} in this image. Lower the "
            "threshold (0.1 finds weaker boxes) or try a photo with everyday objects (people, animals, vehicles)."
        )
    annotated = draw_detections(
        pixels, [d.box for d in found], [f"{d.label} {d.score:.2f} (#{d.index})" for d in found]
    )
    return annotated, {
        "boxes": [list(d.box) for d in found],
        "labels": [d.label for d in found],
        "scores": [round(d.score, 4) for d in found],
        "indices": [d.index for d in found],
    }


def detect_if_image(image: str | None, detector: str | None, threshold: float, letterbox: bool):
    """On upload or detector change: detect; a cleared image just clears the results (no error)."""
    return detect(image, detector, threshold, letterbox) if image else (None, None)


def box_choices(detections: dict[str, list] | None) -> dict[str, Any]:
    """After detection: the box dropdown offers every box, the best one selected."""
    detections = detections or {}
    choices = [
        (f"{label} {score:.2f} (#{index})", index)
        for label, score, index in zip(
            detections.get("labels", []), detections.get("scores", []), detections.get("indices", []), strict=True
        )
    ]
    return gr.update(choices=choices, value=choices[0][1] if choices else None)


@user_facing
@cached_result
@within_memory_budget
@gpu_task
def explain_detection(
    image: str | None,
    detector: str | None,
    box_index: float | str | None,
    method: str,
    params: str | None,
    letterbox: bool = True,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[str, str, str, str]:
    """Overlay PNG (the box outlined), raw map (.npy, float32, photo resolution), the manifest of the run, and all of
    them with a README (how to replay it with the command line) as one zip."""
    pixels = uploaded_image(image)
    loaded = load_detector(detector)
    progress(0.0, desc="starting")
    result = explain_box(
        loaded, pixels, box_index, method, params, bool(letterbox), lambda done, text: progress(done, desc=text)
    )
    title = f"{result.method} for box #{result.target}: {result.target_label} {result.extra['score']:.2f}"
    overlay = box_overlay_figure(pixels, result.attribution, title, result.extra["box"])
    folder = new_result_folder()
    stem = f"{get_method(method, DETECTION_METHODS).key}_box{result.target}"
    record = {**manifest(loaded, pixels, result), "detection": result.extra}  # type: ignore[arg-type]
    files = write_explanation(folder, stem, overlay, result.attribution, record).files
    bundle = write_bundle(folder, f"{title} on an uploaded image", [detect_command(files["manifest"].name)], "results")
    return str(files["overlay"]), str(files["map"]), str(files["manifest"]), str(bundle)


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


def build(app: gr.Blocks) -> dict[str, Field]:
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
            with gr.Accordion("Detections as JSON (what /detect returns)", open=False):
                detections = gr.JSON(label="Detections (boxes, labels, scores, indices)")
        with gr.Column(scale=5):
            box = gr.Dropdown([], value=None, allow_custom_value=True, label="Box to explain", elem_id="det-box")
            method = PANEL.build_method(DEFAULT_METHOD, "det-method")
            PANEL.build_parameters("explain_box")
            cost = gr.Markdown(elem_id="det-cost")
            explain_button = gr.Button("Explain this box", variant="primary", elem_id="det-explain")
        with gr.Column(scale=6):
            overlay, raw_map, record, bundle = explanation_outputs("det", "Saliency for the box")

    detect_inputs = [image, detector, threshold, letterbox]
    detect_button.click(detect, detect_inputs, [annotated, detections], api_name="detect").success(
        box_choices, detections, box, api_visibility="private"
    )
    gr.on(
        [image.change, detector.change, letterbox.change],
        detect_if_image,
        detect_inputs,
        [annotated, detections],
        api_visibility="private",
        show_progress="minimal",
    ).success(box_choices, detections, box, api_visibility="private")
    live_cost(app, cost_preview, [detector, *PANEL.inputs], cost)
    gr.on([app.load, detector.change], show_detector_card, detector, card, api_visibility="private")
    # As in the CNN tab: parameters are read from the controls at the click, then /explain_box runs.
    explain_button.click(
        PANEL.as_json, PANEL.inputs, PANEL.params, api_visibility="private", show_progress="hidden"
    ).then(
        explain_detection,
        [image, detector, box, method, PANEL.params, letterbox],
        [overlay, raw_map, record, bundle],
        api_name="explain_box",
    )
    return {"example": Field(image, darknet_photo)}


def warm_up() -> None:
    """Load the embedded detector and measure its throughput once, so the first cost preview is instant."""
    estimate_box(load_detector(None), DEFAULT_METHOD)
