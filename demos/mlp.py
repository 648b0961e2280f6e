"""The MLP tab: train a small MLP live and watch its hidden units and predictions change epoch by epoch.

Wiring only: data from ``hub_models.tabular``, training and diagnosis from ``explainers.mlp_dynamics``, frames from
``outputs.mlp_render``, files from ``outputs.animation`` and ``outputs.files``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

import gradio as gr

from demos.components import Dropdown, Number
from demos.errors import user_facing
from demos.inputs import live_cost, param_slider
from demos.links import one_of
from demos.result_cache import cached_result
from demos.scrubber import frame_at, slider_over
from demos.tab import Field, Links, Tab
from explainers.mlp_dynamics import (
    DEFAULT_PRESET,
    PARAMS,
    PRESETS,
    estimated_training_seconds,
    preset_values,
    settings_from,
    train_mlp,
)
from explainers.runtime import within_memory_budget
from explainers.training_cost import FRAME_SECONDS
from hub_models.tabular import BUNDLED, DEFAULT_DATASET, TabularData, bundled_dataset, csv_columns, csv_dataset
from outputs.export import mlp_command, write_bundle
from outputs.files import new_result_folder
from outputs.mlp_render import render_frames
from outputs.results import write_mlp


def _data(dataset: str | None, csv_file: str | None, label_column: str | None) -> TabularData:
    """An uploaded CSV wins over the bundled dataset."""
    if csv_file:
        return csv_dataset(csv_file, label_column)
    return bundled_dataset(dataset or DEFAULT_DATASET)


def _values(*controls: Any) -> dict[str, Any]:
    return {param.name: value for param, value in zip(PARAMS, controls, strict=True)}


@user_facing
def label_choices(csv_file: str | None) -> dict[str, Any]:
    """After an upload: the CSV's columns, the last one (the usual place of the label) selected."""
    if not csv_file:
        return gr.update(choices=[], value=None)
    columns = csv_columns(csv_file)
    return gr.update(choices=columns, value=columns[-1])


@user_facing
def cost_preview(dataset: str | None, csv_file: str | None, label_column: str | None, *controls: Any) -> str:
    """Rows, network and the predicted seconds of the run the controls describe."""
    data = _data(dataset, csv_file, label_column)
    settings = settings_from(_values(*controls))
    seconds = estimated_training_seconds(data, settings) + (settings.epochs + 1) * FRAME_SECONDS
    widths = " -> ".join(map(str, [data.features.shape[1], *settings.hidden_layers, len(data.class_names)]))
    note = f" {data.note}" if data.note else ""
    return (
        f"**Cost:** {len(data.labels):,} rows ({settings.train_fraction:.0%} to train), network {widths}, "
        f"{settings.epochs} epochs: about {seconds:.1f} s here, drawing included.{note}"
    )


@user_facing
@cached_result
@within_memory_budget
def train(
    dataset: str | None,
    csv_file: str | None,
    label_column: str | None,
    hidden_layers: str,
    activation: str,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    weight_decay: float,
    dropout: float,
    train_fraction: float,
    seed: int,
    progress: gr.Progress = gr.Progress(),
) -> tuple[str, str, str, str, str, str, str, list[str]]:
    """Trains an MLP on a bundled dataset, or on ``csv_file`` with its ``label_column``, recording its hidden units
    every epoch: the animation (GIF), final frame (PNG), metrics (JSON), animation (MP4), activations (.npz),
    everything as one zip, the reading, and (for the epoch slider, not part of the API) every frame's PNG. The
    settings after the data are ``explainers.mlp_dynamics.PARAMS``, in that order."""
    controls = (
        hidden_layers,
        activation,
        learning_rate,
        epochs,
        batch_size,
        weight_decay,
        dropout,
        train_fraction,
        seed,
    )
    data = _data(dataset, csv_file, label_column)
    settings = settings_from(_values(*controls))
    progress(0.0, desc="training")
    run = train_mlp(data, settings, lambda done, text: progress(0.9 * done, desc=text))
    progress(0.9, desc=f"drawing {len(run.history)} frames")
    frames = render_frames(run)
    folder = new_result_folder()
    written = write_mlp(folder, run, frames)
    files = written.files
    if csv_file:
        shutil.copyfile(csv_file, folder / "data.csv")  # the bundle reproduces the run from the user's own file
    command = mlp_command(_values(*controls), dataset, "data.csv" if csv_file else None, label_column)
    bundle = write_bundle(folder, f"an MLP trained on {data.name}", [command], "mlp_results")
    return (
        str(files["gif"]),
        str(files["final"]),
        str(files["metrics"]),
        str(files["mp4"]),
        str(files["npz"]),
        str(bundle),
        f"**Reading.** {run.metrics()['reading']}" + (f"\n\n*{data.note}*" if data.note else ""),
        written.frames,
    )


def _control(param) -> gr.components.Component:
    if param.choices:
        return Dropdown(list(param.choices), value=param.default, label=param.name, info=param.help)
    if param.kind is str:
        return gr.Textbox(value=param.default, label=param.name, info=param.help)
    if param.name in ("learning_rate", "weight_decay", "seed"):
        return Number(
            value=param.default, minimum=param.minimum, maximum=param.maximum, label=param.name, info=param.help
        )
    step = 1 if param.kind is int else 0.01
    return param_slider(param, step=step)


def apply_preset(name: str) -> list[Any]:
    values = preset_values(name)
    return [values[param.name] for param in PARAMS]


def build(app: gr.Blocks, _tabs: Sequence[Tab]) -> Links:
    """Lays out the tab inside ``app``, binds its events; returns its link fields."""
    frames = gr.State([])
    with gr.Row():
        with gr.Column(scale=4):
            dataset = Dropdown(list(BUNDLED), value=DEFAULT_DATASET, label="Dataset (scikit-learn, bundled)")
            with gr.Accordion("…or upload a CSV (numeric columns + one label column)", open=False):
                csv_file = gr.File(file_types=[".csv", ".tsv", ".txt"], type="filepath", label="CSV file")
                label_column = gr.Dropdown([], label="Label column", allow_custom_value=True)
            preset = gr.Radio(list(PRESETS), value=DEFAULT_PRESET, label="Preset", elem_id="mlp-preset")
            controls = [_control(param) for param in PARAMS]
            cost = gr.Markdown(elem_id="mlp-cost")
            train_button = gr.Button("Train and animate", variant="primary", elem_id="mlp-train")
        with gr.Column(scale=8):
            animation = gr.Image(
                type="filepath",
                label="Training, epoch by epoch",
                show_label=False,
                interactive=False,
                elem_id="mlp-animation",
            )
            reading = gr.Markdown(label="Reading", elem_id="mlp-reading")
            epoch = gr.Slider(0, 1, value=0, step=1, label="Epoch (scrub the frames)", interactive=False)
            frame = gr.Image(
                type="filepath", format="png", label="Frame", show_label=False, interactive=False, elem_id="mlp-frame"
            )
            with gr.Row():
                video = gr.File(label="Animation (MP4)")
                metrics = gr.File(label="Metrics (JSON)", elem_id="mlp-metrics")
                activations = gr.File(label="Activations per epoch (.npz)")
                bundle = gr.File(label="Download all (.zip)", elem_id="mlp-bundle")

    inputs = [dataset, csv_file, label_column, *controls]
    csv_file.change(label_choices, csv_file, label_column, api_visibility="private")
    preset.change(apply_preset, preset, controls, api_visibility="private")
    live_cost(app, cost_preview, inputs, cost)
    train_button.click(
        train, inputs, [animation, frame, metrics, video, activations, bundle, reading, frames], api_name="mlp_train"
    ).success(slider_over, frames, epoch, api_visibility="private")
    epoch.change(frame_at, [frames, epoch], frame, api_visibility="private", show_progress="hidden")
    return Links({"dataset": Field(dataset, one_of(*BUNDLED)), "preset": Field(preset, one_of(*PRESETS))})


TAB = Tab(
    "mlp",
    "MLP",
    "Train a small MLP live and watch overfitting and dead units happen, epoch by epoch.",
    build,
    example={"preset": "overfits"},
)
