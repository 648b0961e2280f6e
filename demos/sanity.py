"""The sanity check section: randomise the model from the top down and watch whether a method's map changes.

Wiring only: the checks come from ``explainers.sanity_report``, the pictures and files from
``outputs.results.write_sanity`` (which ``python -m explainers sanity`` writes too). Every step is computed in one
run; the step slider only switches between the pictures.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from demos.errors import user_facing
from demos.inputs import (
    framing_radio,
    image_with_examples,
    live_cost,
    method_dropdown,
    model_dropdown,
    param_slider,
    uploaded_image,
)
from demos.result_cache import cached_result
from demos.scrubber import frame_at, slider_over
from explainers.runtime import within_memory_budget
from explainers.sanity import STEPS
from explainers.sanity_report import CHECKS, DEFAULT_CHECKS, SanityReport, describe_cost, sanity_report
from explainers.sanity_stats import SEEDS
from hub_models import load_model
from hub_models.device import gpu_task
from hub_models.framing import DEFAULT_FRAMING, check_framing
from outputs.files import new_result_folder
from outputs.results import write_sanity

DEFAULT_METHOD = "Grad-CAM"
PARAMS = {"preset": "fast"}
"""Every method runs at its fast preset (seed 0 for the stochastic ones): a report makes 1 + steps x seeds maps and
more (``describe_cost`` counts them)."""
DRAWING = 0.85
"""The share of the progress bar for the explanations; the rest is drawing."""
DRAWING_SECONDS_PER_STEP = 0.35
"""One overlay and its PNG, with the plot, record and zip shared out: benchmarks/bench_sanity.py measured 2.25 s of
files for Grad-CAM's 6 pictures on a quiet 2-core AVX2 machine (docs/sanity-checks.md)."""


@user_facing
def cost_preview(model: str | None, method: str, steps: Any, seeds: Any = SEEDS.default, checks: Any = None) -> str:
    return "**Cost:** " + describe_cost(
        load_model(model), method, PARAMS, steps, seeds, checks or None, DRAWING_SECONDS_PER_STEP
    )


@user_facing
@cached_result
@within_memory_budget
@gpu_task
def sanity_check(
    image: str | None,
    model: str | None,
    method: str,
    steps: Any,
    framing: str = DEFAULT_FRAMING,
    seeds: Any = SEEDS.default,
    checks: Any = None,
    progress: gr.Progress = gr.Progress(),
) -> tuple[list[tuple[str, str]], dict[str, Any], list[str], dict[str, str]]:
    """Randomises the model's layers from the top down in ``steps`` stages, ``seeds`` times, and explains the image
    with ``method`` (fast preset) before and after each (cascading randomisation), then runs the other ``checks``
    (blank: ``DEFAULT_CHECKS``), the image framed as ``framing`` says ("crop" or "whole image", as on the CNN tab):
    a gallery of one captioned overlay per step and the correlations record; for
    the page, not the API, the step pictures for the slider and the verdict, plot and download files."""
    framing = check_framing(framing)
    photo = uploaded_image(image)
    loaded = load_model(model)
    progress(0.0, desc="starting")
    report = sanity_report(
        loaded,
        photo,
        method,
        params=PARAMS,
        steps=steps,
        seeds=seeds,
        checks=checks or None,
        progress=lambda done, text: progress(DRAWING * done, text),
        framing=framing,
    )
    progress(DRAWING, desc=f"drawing {len(report.cascade.stages)} maps")
    saved = write_sanity(new_result_folder(), photo, report, model or "")
    view = {name: str(path) for name, path in saved.files.items()}
    view["verdict"] = verdict_markdown(report)
    return saved.gallery, report.record(), saved.frames, view


HEADINGS = {True: "✓ {check} passes", False: "✗ {check} fails", None: "? {check} is inconclusive"}
"""A check's heading: a mark and a lower-case verb (the verdict's own text says FAILS in capitals)."""


def verdict_markdown(report: SanityReport) -> str:
    """The overall outcome in one bold line, then every check's heading and verdict in words."""
    outcome = "passes" if report.passes else "does not pass"
    failed = sum(1 for v in report.verdicts if v.passes is False)
    lines = [f"**{report.cascade.method} {outcome}: {failed} of {len(report.checks)} checks fail.**"]
    for key, v in zip(report.checks, report.verdicts, strict=True):
        lines.append(f"#### {HEADINGS[v.passes].format(check=CHECKS[key])}\n{v.text}")
    return "\n\n".join(lines)


def show_result(frames: list[str], view: dict[str, str]) -> tuple[Any, ...]:
    """After a run: the verdict, the last step's picture (the slider sits there), the plot and the downloads."""
    return view["verdict"], frames[-1], view["plot"], view["record"], view["maps"], view["bundle"]


def build(app: gr.Blocks) -> None:
    """Lays out the section inside ``app`` and binds its events."""
    frames = gr.State([])
    view = gr.State({})
    gr.Markdown(
        "### Sanity check\nThe model's layers are re-initialised at random, from the top (output) down, and the method "
        "explains the same image and class after each step (cascading randomisation, Adebayo et al., 2018). An "
        "explanation of the model must change as its weights are destroyed; one that stays the same fails."
    )
    with gr.Row(elem_id="sanity-section"):
        with gr.Column(scale=4):
            image = image_with_examples("sanity-image", height=280)
            model = model_dropdown("sanity-model")
            framing = framing_radio("sanity-framing")
            method = method_dropdown(DEFAULT_METHOD, "sanity-method", label="Method (fast preset)")
            steps = param_slider(STEPS, "sanity-steps")
            seeds = param_slider(SEEDS, "sanity-seeds")
            checks = gr.CheckboxGroup(
                [(name, key) for key, name in CHECKS.items()],
                value=list(DEFAULT_CHECKS),
                label="Checks (Smooth MPRT repairs the test for noisy maps such as Integrated Gradients'; it costs "
                "more, see below)",
                elem_id="sanity-checks",
            )
            cost = gr.Markdown(elem_id="sanity-cost")
            run = gr.Button("Run sanity check", variant="primary", elem_id="sanity-run")
        with gr.Column(scale=7):
            verdict = gr.Markdown(elem_id="sanity-verdict")
            step = gr.Slider(
                0,
                1,
                value=0,
                step=1,
                label="Step (0 = original model)",
                info="Switches between the maps of the last run: nothing is recomputed",
                interactive=False,
                elem_id="sanity-step",
            )
            frame = gr.Image(
                type="filepath", format="png", show_label=False, interactive=False, height=460, elem_id="sanity-frame"
            )
            plot = gr.Image(type="filepath", format="png", show_label=False, interactive=False, elem_id="sanity-plot")
            gallery = gr.Gallery(
                label="Every step", columns=4, height=220, object_fit="contain", elem_id="sanity-gallery"
            )
            with gr.Row():
                record_file = gr.File(label="Correlations (JSON)", elem_id="sanity-record")
                maps_file = gr.File(label="Maps, one per step (.npz)")
                bundle = gr.File(label="Download all (.zip)", elem_id="sanity-bundle")
            with gr.Accordion("Correlations as JSON (what /sanity_check returns)", open=False):
                correlations = gr.JSON(label="Correlations", show_label=False)

    live_cost(app, cost_preview, [model, method, steps, seeds, checks], cost)
    finished = run.click(
        sanity_check,
        [image, model, method, steps, framing, seeds, checks],
        [gallery, correlations, frames, view],
        api_name="sanity_check",
    )
    finished.success(slider_over, frames, step, api_visibility="private")
    finished.success(
        show_result, [frames, view], [verdict, frame, plot, record_file, maps_file, bundle], api_visibility="private"
    )
    step.change(frame_at, [frames, step], frame, api_visibility="private", show_progress="hidden")
