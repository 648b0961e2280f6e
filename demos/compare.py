"""The Compare section: several methods on up to three models, side by side, each map with its time, faithfulness,
ROAD and (against boxes the user draws) localisation scores, and how far the models' maps agree.

Wiring only: maps and scores from ``explainers.compare``, pictures and files from ``outputs``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import gradio as gr

from demos import cross_check, sanity
from demos.box_marks import boxes_of, marks_editor, with_image
from demos.components import CheckboxGroup, Dropdown, Radio
from demos.errors import user_facing
from demos.inputs import framing_radio, image_with_examples, live_cost, model_dropdown, uploaded_image
from demos.links import example_photo
from demos.result_cache import cached_result
from demos.tab import Field, Links, Tab
from explainers import METHODS
from explainers.compare import (
    DEFAULT_METHODS,
    MAX_MODELS,
    SCORES,
    check_score,
    chosen_methods,
    compare_models,
    plan,
    report_cost,
)
from explainers.limits import work_note
from explainers.localisation import parse_boxes
from explainers.runtime import within_memory_budget
from hub_models.device import gpu_task
from hub_models.errors import shown
from hub_models.framing import DEFAULT_FRAMING, check_framing
from outputs.compare_render import AGREEMENT_HEADERS, TABLE_HEADERS, agreement_rows, models_markdown, table_rows
from outputs.files import new_result_folder
from outputs.results import write_comparison

DEFAULT_SORT = "insertion"
READING = (
    "Deletion removes the pixels a map ranks highest, first; Insertion restores them, first. Pixel-level deletion "
    "also rewards scattered, high-frequency maps (removing scattered pixels breaks a photo like noise does; try the "
    "edge-detector control). ROAD removes pixels too but fills them in from their neighbours (noisy linear "
    "imputation), so the model sees no black holes: read it beside Deletion. Draw boxes around the object to score "
    "where each map points (pointing game, relevance mass and rank)."
)


def models_of(model: str | None, more_models: Sequence[str] | str | None) -> list[str | None]:
    """The first model and the others, as one list (``more_models`` may be one id or several)."""
    if isinstance(more_models, str):
        more_models = [m for m in more_models.split(",") if m.strip()]
    return [model, *(more_models or [])]


@user_facing
def cost_preview(
    model: str | None, methods: list[str] | None, preset: str, more_models: Sequence[str] | None = None
) -> str:
    keys = chosen_methods(methods)
    planned = plan(models_of(model, more_models), keys)
    seconds, evaluations = report_cost(planned, preset)
    failed = "".join(f" {shown(entry.spec)} will not load: {entry.error}" for entry in planned if entry.error)
    models = sum(entry.model is not None for entry in planned)
    on = f" on {models} models" if len(planned) > 1 else ""
    return (
        f"**Cost:** {len(keys)} methods at their {preset} presets{on}, scored for faithfulness and ROAD: about "
        f"{evaluations:,} model evaluations, about {seconds:.1f} s here.{work_note(evaluations)}{failed}"
    )


@user_facing
def marks_for(image: str | None, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """The box editor follows the image: the same picture keeps its boxes, another starts with none."""
    return with_image(image, current)


@user_facing
@cached_result
@within_memory_budget
@gpu_task
def run_compare(
    image: str | None,
    model: str | None,
    methods: list[str] | None,
    preset: str,
    sort_by: str,
    framing: str = DEFAULT_FRAMING,
    boxes: str | None = None,
    more_models: list[str] | None = None,
    progress: gr.Progress = gr.Progress(),
) -> tuple[list[tuple[Any, str]], str, Any, list[list[Any]], str, str, list[list[Any]]]:
    """Explains the image's top-1 class with every one of ``methods`` at its ``preset`` on ``model`` and on up to two
    ``more_models`` (Hub ids or embedded names), and scores each map: Deletion, Insertion, MuFidelity, ROAD, and when
    ``boxes`` (JSON: a list of [x1, y1, x2, y2] in image pixels) marks where the object is, the pointing game,
    relevance mass and relevance rank; best ``sort_by`` first, the image framed as ``framing`` says ("crop" or "whole
    image", as on the CNN tab). Returns a gallery of (overlay, caption), the scores (JSON), the curves, the scores as
    a table, every file as one zip, each model's top-5 (or why it could not be compared), and the agreement between
    models' maps. A model that fails to load leaves the others running."""
    framing = check_framing(framing)
    check_score(sort_by)
    rgb = uploaded_image(image)
    marks = parse_boxes(boxes, rgb.shape[:2])
    report = compare_models(
        models_of(model, more_models),
        rgb,
        methods,
        preset,
        progress=lambda done, text: progress(done, desc=text),
        framing=framing,
        boxes=marks,
    )
    saved = write_comparison(new_result_folder(), rgb, report, preset, framing, sort_by)
    files = saved.files
    return (
        saved.gallery,
        str(files["scores"]),
        str(files.get("curves", "")) or None,
        table_rows(report, saved.order),
        str(files["bundle"]),
        models_markdown(report),
        agreement_rows(report),
    )


def build(app: gr.Blocks, _tabs: Sequence[Tab]) -> Links:
    """Lays out the Compare section and the sanity check under it inside ``app``, binds their events; returns the
    link fields."""
    gr.Markdown("### Compare methods and models\n" + READING)
    with gr.Row():
        with gr.Column(scale=4):
            image = image_with_examples("cmp-image", height=260)
            marks = marks_editor("cmp-marks")
            boxes = gr.Textbox(
                value="[]",
                label="Boxes (JSON, image pixels)",
                info="What the drawing gives, or type [[x1, y1, x2, y2], ...]; [] for none",
                elem_id="cmp-boxes",
            )
            model = model_dropdown()
            more_models = model_dropdown(
                "cmp-more-models",
                value=[],
                multiselect=True,
                max_choices=MAX_MODELS - 1,
                label=f"Also compare with (up to {MAX_MODELS - 1} models)",
                info="Each model explains its own top-1 class; pick or type Hub ids",
            )
            framing = framing_radio("cmp-framing")
            methods = CheckboxGroup(
                [method.name for method in METHODS.values()],
                value=[METHODS[key].name for key in DEFAULT_METHODS],
                label="Methods",
                elem_id="cmp-methods",
            )
            preset = Radio(["fast", "default"], value="fast", label="Preset")
            sort_by = Dropdown(
                [(label, key) for key, (label, _) in SCORES.items()], value=DEFAULT_SORT, label="Sort by"
            )
            cost = gr.Markdown(elem_id="cmp-cost")
            run = gr.Button("Compare", variant="primary", elem_id="cmp-run")
        with gr.Column(scale=8):
            top = gr.Markdown(label="Each model's top-5", elem_id="cmp-models")
            gallery = gr.Gallery(
                label="Best first", columns=3, height="auto", object_fit="contain", elem_id="cmp-gallery"
            )
            table = gr.Dataframe(headers=TABLE_HEADERS, label="Scores", interactive=False, elem_id="cmp-table")
            agreement = gr.Dataframe(
                headers=AGREEMENT_HEADERS,
                label="Agreement between models (same method)",
                interactive=False,
                elem_id="cmp-agreement",
            )
            curves = gr.Image(
                label="Deletion, insertion and ROAD curves",
                show_label=False,
                format="png",
                type="numpy",
                interactive=False,
            )
            with gr.Row():
                scores = gr.File(label="Scores (JSON)", elem_id="cmp-scores")
                bundle = gr.File(label="Download all (.zip)", elem_id="cmp-bundle")

    image.change(marks_for, [image, marks], marks, api_visibility="private", show_progress="hidden")
    marks.change(lambda value: json.dumps(boxes_of(value)), marks, boxes, api_visibility="private")
    live_cost(app, cost_preview, [model, methods, preset, more_models], cost)
    run.click(
        run_compare,
        [image, model, methods, preset, sort_by, framing, boxes, more_models],
        [gallery, scores, curves, table, bundle, top, agreement],
        api_name="compare",
    )
    sanity.build(app)
    cross_check.build(app)
    return Links({"example": Field(image, example_photo)})


TAB = Tab(
    "compare",
    "Compare",
    "Methods and models side by side with faithfulness, ROAD and localisation scores, and sanity checks.",
    build,
    example={"example": "coffee"},
)
