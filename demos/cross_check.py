"""The cross-framework section of the Compare tab: the same timm checkpoint in PyTorch and, converted by KerasHub, in
Keras; their logits, and each method's map from our PyTorch code beside Xplique's on the Keras model.

Wiring only: the check comes from ``explainers.cross_framework``, pictures from ``outputs.cross_check_render``.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from demos.components import CheckboxGroup
from demos.errors import user_facing
from demos.inputs import framing_radio, image_with_examples, live_cost, uploaded_image
from demos.result_cache import cached_result
from explainers.cross_framework import (
    DEFAULT_CROSS_METHODS,
    DEFAULT_TIMM_MODEL,
    cross_check,
    cross_check_cost,
    cross_methods,
    load_pair,
)
from explainers.limits import check_work, work_note
from explainers.registry import METHODS
from explainers.runtime import within_memory_budget
from hub_models.cache import cached_specs
from hub_models.device import gpu_task
from hub_models.framing import DEFAULT_FRAMING, check_framing
from hub_models.keras_models import KERAS_PREFIX
from outputs.files import new_result_folder
from outputs.results import write_cross_check

PRESET = "fast"


@user_facing
def cost_preview(model: str | None, methods: list[str] | None) -> str:
    """The cost once both models are in memory; before, what the click will load (a preview never downloads)."""
    spec = (model or "").strip().removeprefix(KERAS_PREFIX)
    loaded = set(cached_specs())
    if spec not in loaded or KERAS_PREFIX + spec not in loaded:
        return (
            f"**Cost:** the click first loads {spec or 'the checkpoint'} in PyTorch and in Keras (a download the "
            "first time, then a few seconds to build each); the exact cost shows here once both are in memory."
        )
    pytorch, keras = load_pair(model)
    seconds, evaluations = cross_check_cost(pytorch, keras, methods or [], PRESET)
    return (
        f"**Cost:** {len(methods or [])} methods in both frameworks at their {PRESET} presets (random ones twice "
        f"each side): about {evaluations:,} model evaluations, about {seconds:.1f} s here.{work_note(evaluations)}"
    )


@user_facing
@cached_result
@within_memory_budget
@gpu_task
def run_cross_check(
    image: str | None,
    model: str | None,
    methods: list[str] | None,
    framing: str = DEFAULT_FRAMING,
    progress: gr.Progress = gr.Progress(),
) -> tuple[list[tuple[Any, str]], str, dict[str, Any], str]:
    """Loads the timm checkpoint ``model`` in PyTorch and in Keras (KerasHub's timm converter) and compares their
    logits on the image and, for each of ``methods`` (implemented in both frameworks; fast presets), our PyTorch map
    with Xplique's map on the Keras model: a gallery (PyTorch, Keras per method), the verdict, the record (JSON) and
    its file."""
    framing = check_framing(framing)
    photo = uploaded_image(image)
    pytorch, keras = load_pair(model)
    check_work(cross_check_cost(pytorch, keras, methods or [], PRESET)[1], "this cross-check")
    result = cross_check(
        pytorch, keras, photo, methods or [], PRESET, lambda done, text: progress(done, desc=text), framing
    )
    files = write_cross_check(new_result_folder(), photo, result)
    gallery = [(str(path), caption) for path, caption in files["gallery"]]
    return gallery, result.verdict(), result.record(), str(files["record"])


def build(app: gr.Blocks) -> None:
    """Lays out the section inside ``app`` and binds its events."""
    gr.Markdown(
        "### Same model in PyTorch and in Keras\nOne timm checkpoint loaded by timm in PyTorch and converted by "
        "KerasHub into Keras: the same pixels go in, the logits are compared, and each method's map from our PyTorch "
        "code is set beside Xplique's map on the Keras model."
    )
    with gr.Row(elem_id="cross-section"):
        with gr.Column(scale=4):
            image = image_with_examples("cross-image", height=240)
            model = gr.Textbox(value=DEFAULT_TIMM_MODEL, label="timm checkpoint", elem_id="cross-model")
            framing = framing_radio("cross-framing")
            methods = CheckboxGroup(
                [method.name for method in cross_methods()],
                value=[METHODS[key].name for key in DEFAULT_CROSS_METHODS],
                label="Methods (fast preset)",
                elem_id="cross-methods",
            )
            cost = gr.Markdown(elem_id="cross-cost")
            run = gr.Button("Compare the frameworks", variant="primary", elem_id="cross-run")
        with gr.Column(scale=7):
            verdict = gr.Textbox(label="Verdict", lines=5, interactive=False, elem_id="cross-verdict")
            gallery = gr.Gallery(
                label="PyTorch | Keras", columns=2, height="auto", object_fit="contain", elem_id="cross-gallery"
            )
            record_file = gr.File(label="Record (JSON)", elem_id="cross-record")
            with gr.Accordion("Record as JSON (what /cross_check returns)", open=False):
                record = gr.JSON(label="Record", show_label=False)
    live_cost(app, cost_preview, [model, methods], cost)
    run.click(
        run_cross_check,
        [image, model, methods, framing],
        [gallery, verdict, record, record_file],
        api_name="cross_check",
    )
