"""The Offering tab (the landing tab): what the suite does, and which method to pick, generated from the registries
(the tabs' and the methods').

Every row comes from a registered method (its question, strengths, caveats, paper, cost model) and every cost in
seconds from the models' throughput measured on this machine at start-up, so the guide cannot drift from the code.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import gradio as gr

from demos.errors import user_facing
from demos.tab import Links, Tab
from explainers import METHODS
from explainers.base import Method
from explainers.detection import DETECTION_METHODS, estimate_box
from explainers.explain import estimate
from explainers.families import frameworks
from explainers.lstm_training import LstmSettings, estimate_seconds, forecast_data
from explainers.mlp_dynamics import DEFAULT_PRESET, estimated_training_seconds, preset_values, settings_from
from explainers.presets import preset_values as method_preset_values
from hub_models import DEFAULT_MODEL, load_model
from hub_models.detectors import DEFAULT_DETECTOR, load_detector
from hub_models.series import DEFAULT_SERIES, load_series
from hub_models.tabular import DEFAULT_DATASET, bundled_dataset


@dataclass(frozen=True)
class GuideRow:
    method: Method
    access: str
    evaluations: tuple[int, int]
    seconds: tuple[float, float]


def access(method: Method, cost_evaluations: int, backward: int) -> str:
    """What the method needs from the model, read from its family and its cost model."""
    if cost_evaluations == 0:
        return "nothing: never calls the model"
    if method.family == "CAM":
        return "internals: a feature map and its gradient"
    if method.family == "attention":
        return "internals: attention probabilities" + (" and their gradients" if backward else "")
    if backward:
        return "gradients of the score"
    return "black box: scores only"


def guide_rows(methods: dict[str, Method], estimator) -> list[GuideRow]:
    """One row per registered method, with its cost at the fast and default presets, measured here."""
    rows = []
    for key, method in methods.items():
        fast, default = (estimator(key, {"preset": preset}) for preset in ("fast", "default"))
        rows.append(
            GuideRow(
                method=method,
                access=access(method, default.cost.evaluations, default.cost.backward),
                evaluations=(fast.cost.evaluations, default.cost.evaluations),
                seconds=(fast.seconds, default.seconds),
            )
        )
    return rows


def _table(rows: list[GuideRow]) -> str:
    lines = [
        "| Method | The question it answers | Models it explains | Needs | Model evaluations (fast / default) | "
        "Seconds here (fast / default) | Strengths | Known failure modes | Paper |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        method = row.method
        lines.append(
            f"| **{method.name}** | {method.question} | {', '.join(method.families)} ({frameworks(method)}) | "
            f"{row.access} | "
            f"{row.evaluations[0]:,} / "
            f"{row.evaluations[1]:,} | {row.seconds[0]:.1f} / {row.seconds[1]:.1f} | {method.strengths} | "
            f"{method.caveats} | {method.paper} |"
        )
    return "\n".join(lines)


def method_table() -> str:
    """docs/methods.md's table of every registered method: the tab, the models it explains (``Method.families``), what
    it needs from the model, the question it answers and its paper. No timing: the page is the same on any machine."""
    lines = [
        "| Method | Tab | Models it explains | Needs | The question it answers | Paper |",
        "|---|---|---|---|---|---|",
    ]
    for tab, methods in (("CNN, Compare", METHODS), ("Detection", DETECTION_METHODS)):
        for key, method in methods.items():
            cost = method.cost(method_preset_values(method, "default"), (224, 224))
            lines.append(
                f"| **{method.name}** (`{key}`) | {tab} | {', '.join(method.families)}"
                f"{f' ({frameworks(method)})' if tab != 'Detection' else ''} | "
                f"{access(method, cost.evaluations, cost.backward)} | {method.question} | {method.paper} |"
            )
    return "\n".join(lines)


@functools.cache
def _training_defaults_seconds() -> tuple[float, float]:
    """The MLP and LSTM tabs' default runs, timed once per process (not on every page load: it trains a few steps)."""
    mlp = estimated_training_seconds(bundled_dataset(DEFAULT_DATASET), settings_from(preset_values(DEFAULT_PRESET)))
    lstm = estimate_seconds(forecast_data(load_series(DEFAULT_SERIES), LstmSettings().window), LstmSettings())
    return mlp, lstm


@user_facing
def guide_markdown() -> str:
    """The whole guide, costs measured on this machine now (the models' throughput is measured once, at start)."""
    classifier = load_model(None)
    detector = load_detector(None)
    classification = guide_rows(METHODS, lambda key, params: estimate(classifier, key, params))
    detection = guide_rows(DETECTION_METHODS, lambda key, params: estimate_box(detector, key, params))
    mlp_settings = settings_from(preset_values(DEFAULT_PRESET))
    mlp_seconds, lstm_seconds = _training_defaults_seconds()
    return "\n\n".join(
        [
            "## Which method should I pick?",
            "Start with **Grad-CAM** (instant, class-specific, coarse). For a black-box check that works on any "
            "model, use **RISE** or **Occlusion**. For pixel-level detail, **Integrated Gradients** or "
            "**SmoothGrad**. Before trusting any map, run **Compare** (is it faithful?) and the **sanity check** "
            "(does it depend on the model at all?).",
            f"### Image classification (CNN tab; costs for {classifier.name} at "
            f"{classifier.preprocessing.input_size[0]} px, measured on this machine)",
            _table(classification),
            f"### Object detection (Detection tab; costs for {detector.name}, measured on this machine)",
            _table(detection),
            "### Training dynamics (MLP and LSTM tabs)",
            "| Tab | What it shows | Default run here |\n|---|---|---|\n"
            f"| MLP | hidden activations and class probabilities per epoch; dead and saturated units; the epoch "
            f"where validation loss starts rising | {DEFAULT_DATASET}, {mlp_settings.epochs} epochs: training about "
            f"{mlp_seconds:.1f} s, plus about 0.06 s per frame drawn |\n"
            f"| LSTM | the i, f, g, o gates and the cell state at every time step, computed exactly from the "
            f"trained weights; mean forget gate per unit across epochs | {DEFAULT_SERIES}, "
            f"{LstmSettings().epochs} epochs: about {lstm_seconds:.1f} s, drawing included |",
        ]
    )


def build(app: gr.Blocks, tabs: Sequence[Tab]) -> Links:
    """Lays out the tab: one "open with an example" button per tab that has an example link, then the guide."""
    gr.Markdown(
        "## What xai-suite offers\nDeep networks explain themselves here, in your browser, on a CPU, with no "
        f"network needed (embedded defaults: {DEFAULT_MODEL} for images, {DEFAULT_DETECTOR} for detection, bundled "
        "datasets for training). Every explanation shows its cost before it runs, reports progress, and can be "
        "downloaded with a manifest that reproduces it."
    )
    buttons = []
    with gr.Row():
        for tab in tabs:
            if not tab.example:
                continue
            with gr.Column(min_width=180):
                gr.Markdown(f"**{tab.title}**: {tab.summary}")
                button = gr.Button(f"Open {tab.title} with an example", size="sm", elem_id=f"open-{tab.id}")
                buttons.append((button, {"tab": tab.id, **tab.example}))
    guide = gr.Markdown(elem_id="offering-guide")
    app.load(guide_markdown, None, guide, api_visibility="private")
    return Links(buttons=buttons)


TAB = Tab(
    "offering",
    "Offering",
    "What the suite offers and which method to pick, with every cost measured on this machine.",
    build,
    warm_up=guide_markdown,
)
