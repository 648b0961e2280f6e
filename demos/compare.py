"""The Compare section: several methods on one image, side by side, each with its time and faithfulness scores.

Wiring only: maps and scores from ``explainers.compare``, pictures and files from ``outputs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from demos import cross_check, sanity
from demos.components import CheckboxGroup, Radio
from demos.errors import user_facing
from demos.inputs import framing_radio, image_with_examples, live_cost, model_dropdown, uploaded_image
from demos.links import example_photo
from demos.result_cache import cached_result
from demos.tab import Field, Links, Tab
from explainers import METHODS
from explainers.compare import (
    DEFAULT_METHODS,
    SCORES,
    chosen_methods,
    compare,
    comparison_seconds,
    ranked,
)
from explainers.limits import work_note
from explainers.runtime import within_memory_budget
from explainers.versions import package_versions
from hub_models import load_model
from hub_models.device import gpu_task
from hub_models.framing import DEFAULT_FRAMING, check_framing
from outputs.compare_render import caption, curves_figure
from outputs.export import write_bundle
from outputs.files import new_result_folder, write_json, write_png
from outputs.results import save_explanation

DEFAULT_SORT = "insertion"
READING = (
    "Deletion removes the pixels a map ranks highest, first; Insertion restores them, first. Pixel-level deletion "
    "also rewards scattered, high-frequency maps (removing scattered pixels breaks a photo like noise does; try the "
    "edge-detector control), so read it together with Insertion and MuFidelity."
)


@user_facing
def cost_preview(model: str | None, methods: list[str] | None, preset: str) -> str:
    keys = chosen_methods(methods)
    seconds, evaluations = comparison_seconds(load_model(model), keys, preset)
    return (
        f"**Cost:** {len(keys)} methods at their {preset} presets, scored for faithfulness: about {evaluations:,} "
        f"model evaluations, about {seconds:.1f} s here.{work_note(evaluations)}"
    )


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
    progress: gr.Progress = gr.Progress(),
) -> tuple[list[tuple[Any, str]], str, Any, list[list[Any]], str]:
    """Explains the image's top-1 class with every one of ``methods`` at its ``preset`` and scores each map's
    faithfulness (Deletion, Insertion, MuFidelity), best ``sort_by`` first, the image framed as ``framing`` says
    ("crop" or "whole image", as on the CNN tab): a gallery of (overlay, caption), the scores (JSON), the curves, the
    scores as a table, and every file (each method's overlay, map and manifest too) as one zip."""
    framing = check_framing(framing)
    rgb = uploaded_image(image)
    loaded = load_model(model)
    results = compare(
        loaded, rgb, methods, preset, progress=lambda done, text: progress(done, desc=text), framing=framing
    )
    order = ranked(results, sort_by)
    folder = new_result_folder()
    gallery, commands = [], []
    for result in order:
        explanation = result.explanation
        title = f"{explanation.method} for {explanation.target_label!r}"  # short: the gallery's pictures are small
        saved = save_explanation(folder, loaded, rgb, explanation, title=title, readme=False)
        gallery.append((str(saved.files["overlay"]), caption(result)))
        commands.append(saved.command)
    record = {
        "model": {"name": loaded.name, **loaded.source},
        "target": {"index": order[0].explanation.target, "label": order[0].explanation.target_label},
        "preset": preset,
        "framing": framing,
        "crop_box": list(order[0].explanation.crop_box or ()),
        "sorted_by": sort_by,
        "methods": [result.record() for result in order],
        "versions": package_versions(),
    }
    table = [
        [
            result.explanation.method,
            round(result.explanation.seconds, 2),
            round(result.scores.deletion, 4),
            round(result.scores.insertion, 4),
            round(result.scores.mufidelity, 3),
        ]
        for result in order
    ]
    scores = write_json(folder, "compare_scores", record)
    curves = curves_figure(order)
    write_png(folder, "compare_curves", curves)
    bundle = write_bundle(folder, f"{len(order)} methods compared on an uploaded image", commands, "compare_results")
    return gallery, str(scores), curves, table, str(bundle)


def build(app: gr.Blocks, _tabs: Sequence[Tab]) -> Links:
    """Lays out the Compare section and the sanity check under it inside ``app``, binds their events; returns the
    link fields."""
    gr.Markdown("### Compare methods\n" + READING)
    with gr.Row():
        with gr.Column(scale=4):
            image = image_with_examples("cmp-image", height=260)
            model = model_dropdown()
            framing = framing_radio("cmp-framing")
            methods = CheckboxGroup(
                [method.name for method in METHODS.values()],
                value=[METHODS[key].name for key in DEFAULT_METHODS],
                label="Methods",
                elem_id="cmp-methods",
            )
            preset = Radio(["fast", "default"], value="fast", label="Preset")
            sort_by = Radio([(label, key) for key, (label, _) in SCORES.items()], value=DEFAULT_SORT, label="Sort by")
            cost = gr.Markdown(elem_id="cmp-cost")
            run = gr.Button("Compare", variant="primary", elem_id="cmp-run")
        with gr.Column(scale=8):
            gallery = gr.Gallery(
                label="Best first", columns=3, height="auto", object_fit="contain", elem_id="cmp-gallery"
            )
            table = gr.Dataframe(
                headers=["method", "seconds", "deletion AUC ↓", "insertion AUC ↑", "MuFidelity ↑"],
                label="Scores",
                interactive=False,
                elem_id="cmp-table",
            )
            curves = gr.Image(
                label="Deletion and insertion curves", show_label=False, format="png", type="numpy", interactive=False
            )
            with gr.Row():
                scores = gr.File(label="Scores (JSON)", elem_id="cmp-scores")
                bundle = gr.File(label="Download all (.zip)", elem_id="cmp-bundle")

    live_cost(app, cost_preview, [model, methods, preset], cost)
    run.click(
        run_compare,
        [image, model, methods, preset, sort_by, framing],
        [gallery, scores, curves, table, bundle],
        api_name="compare",
    )
    sanity.build(app)
    cross_check.build(app)
    return Links({"example": Field(image, example_photo)})


TAB = Tab(
    "compare",
    "Compare",
    "Several methods side by side with faithfulness scores, and a live sanity check.",
    build,
    example={"example": "coffee"},
)
