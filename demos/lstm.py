"""The LSTM tab: pick a series and a task, see the cost, train live, watch what the forget gate keeps, download.

Wiring only: series come from ``hub_models.series``, training and gates from ``explainers.lstm_training``, frames from
``outputs.lstm_render``, files from ``outputs.results`` (as the command line writes them) and ``outputs.export``.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Sequence
from typing import Any

import gradio as gr

from demos.components import Dropdown, Number, Radio
from demos.errors import user_facing
from demos.inputs import live_cost, param_slider
from demos.links import one_of
from demos.result_cache import cached_result
from demos.scrubber import frame_at, slider_over
from demos.tab import Field, Links, Tab
from explainers.lstm_training import (
    CSV_CHOICE,
    PARAMS,
    TASKS,
    LstmRun,
    LstmSettings,
    estimate_seconds,
    sequence_data,
    train_lstm,
)
from explainers.runtime import within_memory_budget
from hub_models.errors import UserInputError
from hub_models.series import DEFAULT_SERIES, LABELLED_SETS, SERIES_TITLES
from outputs.export import lstm_command, write_bundle
from outputs.files import new_result_folder
from outputs.lstm_render import render_frames
from outputs.results import write_lstm

SERIES_CHOICES = [
    *[(title, key) for key, title in SERIES_TITLES.items()],
    *[(title, key) for key, title in LABELLED_SETS.items()],
    ("Uploaded CSV (time column optional, numeric columns; the first is forecast)", CSV_CHOICE),
]
TRAINING_SHARE = 0.75
"""Of the progress bar; rendering and encoding the frames take the rest."""


def _settings(values: tuple[Any, ...]) -> LstmSettings:
    return LstmSettings(**{param.name: value for param, value in zip(PARAMS, values, strict=True)})


@user_facing
def cost_preview(series: str | None, csv: str | None, task: str | None, *values: Any) -> str:
    """What the run the controls describe costs here, before it starts; or why it cannot start (shown in place of
    the cost, not as a pop-up: the controls may be half set, e.g. "Uploaded CSV" chosen before the upload)."""
    try:
        settings = _settings(values)
        data = sequence_data(series, csv, task, settings.window)
    except UserInputError as error:
        return f"**Not ready to train:** {error}"
    seconds = estimate_seconds(data, settings)
    return (
        f"**Cost:** {len(data.train[0]):,} training sequences x {data.window} steps x {settings.epochs} epochs, "
        f"then {data.window} frames; about {seconds:.0f} s here."
    )


def _summary(run: LstmRun) -> str:
    data, metrics = run.data, run.metrics
    if data.task == "classify":
        score = f"Validation accuracy {metrics['val_accuracy']:.1%} on {len(data.validation[0]):,} held-out days."
    else:
        score = (
            f"Validation MAE {metrics['val_mae']:.4g} against {metrics['naive_last_value_mae']:.4g} for the naive "
            f"last-value forecast ({metrics['skill_vs_naive']:+.0%} skill)."
        )
    note = f"\n\n*{data.note}*" if data.note else ""
    return f"**{data.name}.** {score}\n\n**What the forget gates keep:** {run.summary}{note}"


@user_facing
@cached_result
@within_memory_budget
def lstm_train(
    series: str | None,
    csv: str | None,
    task: str | None,
    hidden_size: int,
    layers: int,
    window: int,
    epochs: int,
    learning_rate: float,
    seed: int,
    sequence: int,
    show_gates: bool,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[str, str, str, str, dict[str, Any]]:
    """Trains an LSTM on a bundled series, a labelled set or a CSV (``series`` "csv" and the file) and records its
    gates on validation sequence ``sequence`` (-1: the last): the animation (GIF), metrics (JSON), gate tensors
    (.npz), everything as one zip; the tab's other views come from the last value (not part of the API)."""
    settings = _settings((hidden_size, layers, window, epochs, learning_rate, seed))
    data = sequence_data(series, csv, task, settings.window)
    if (
        isinstance(sequence, bool)
        or not isinstance(sequence, int | float)
        or not math.isfinite(sequence)
        or sequence != int(sequence)
    ):
        raise UserInputError(f"The sequence to animate must be a whole number (-1 = the last), got {sequence!r}.")
    progress(0.0, desc="training")
    run = train_lstm(data, settings, int(sequence), lambda done, text: progress(done * TRAINING_SHARE, desc=text))
    progress(TRAINING_SHARE, desc=f"rendering {data.window} frames")
    started = time.perf_counter()
    frames = render_frames(run, bool(show_gates))
    seconds = {**run.seconds, "rendering": time.perf_counter() - started}
    folder = new_result_folder()
    key = series or DEFAULT_SERIES
    written = write_lstm(folder, run, frames, key, seconds)
    files = written.files
    values = {param.name: getattr(settings, param.name) for param in PARAMS}
    if key == CSV_CHOICE:
        shutil.copyfile(csv, folder / "series.csv")  # the bundle reproduces the run from the user's own file
    command = lstm_command(
        values, key if key != CSV_CHOICE else None, "series.csv" if key == CSV_CHOICE else None, run.sample
    )
    bundle = write_bundle(folder, f"an LSTM trained on {data.name} ({data.task})", [command], "lstm_results")
    views = {
        "frames": written.frames,
        "media": [str(files["gif"]), str(files["mp4"])],
        "epochs": str(files["epochs"]),
        "summary": _summary(run),
    }
    return str(files["gif"]), str(files["metrics"]), str(files["npz"]), str(bundle), views


def show_views(views: dict[str, Any] | None) -> tuple[Any, ...]:
    """After a run: the MP4, the scrubbing slider at the last step, that frame, the summary and the epochs view."""
    if not views:
        return None, gr.update(), None, "", None, None
    frames = views["frames"]
    return views["media"][1], slider_over(frames), frames[-1], views["summary"], views["epochs"], views["media"]


def show_frame(views: dict[str, Any] | None, step: float) -> str | None:
    """The already rendered frame of one time step (no recomputation)."""
    return frame_at((views or {}).get("frames"), step)


def pick_task(series: str) -> str:
    """A labelled set can only be classified and a series only forecast: the task follows the series."""
    return "classify" if series in LABELLED_SETS else "forecast"


def _param_component(param) -> gr.components.Component:
    elem_id = f"lstm-{param.name.replace('_', '-')}"
    if param.name in ("seed", "learning_rate"):
        precision = 0 if param.kind is int else None
        return Number(
            value=param.default,
            precision=precision,
            minimum=param.minimum,
            maximum=param.maximum,
            label=param.name,
            info=param.help,
            elem_id=elem_id,
        )
    return param_slider(param, elem_id)


def build(app: gr.Blocks, _tabs: Sequence[Tab]) -> Links:
    """Lays out the tab inside ``app``, binds its events; returns its link fields."""
    gr.Markdown(
        "Train a `torch.nn.LSTM` live on a real series and watch its **forget gate**: bright = the unit keeps its "
        "memory, dark = it forgets. Gates are recomputed exactly from the trained weights."
    )
    with gr.Row():
        with gr.Column(scale=4):
            series = Dropdown(SERIES_CHOICES, value=DEFAULT_SERIES, label="Series", elem_id="lstm-series")
            csv = gr.File(label="CSV series", file_types=[".csv", ".txt"], type="filepath", elem_id="lstm-csv")
            task = Radio([(label, key) for key, label in TASKS.items()], value="forecast", label="Task")
            params = [_param_component(param) for param in PARAMS]
            sequence = Number(
                value=-1, precision=0, label="Validation sequence to animate", info="0 = first, -1 = last"
            )
            show_gates = gr.Checkbox(value=True, label="Also show the input and output gates and the cell state")
            cost = gr.Markdown(elem_id="lstm-cost")
            train_button = gr.Button("Train and animate", variant="primary", elem_id="lstm-train")
        with gr.Column(scale=7):
            image = {"type": "filepath", "interactive": False, "show_label": False}
            animation = gr.Image(label="Animation", elem_id="lstm-animation", **image)
            step = gr.Slider(
                0,
                1,
                value=0,
                step=1,
                label="Time step",
                info="Scrubs the same frames, one per step of the window",
                interactive=False,
                elem_id="lstm-step",
            )
            frame = gr.Image(label="Frame at that step", elem_id="lstm-frame", **image)
            summary = gr.Markdown(elem_id="lstm-summary")
            epochs_view = gr.Image(label="Mean forget gate per unit across epochs", **image)
            with gr.Accordion("The animation as an MP4 video", open=False):
                video = gr.Video(label="Animation (MP4)", autoplay=False, loop=True)
            with gr.Row():
                metrics = gr.File(label="Metrics (.json)", elem_id="lstm-metrics")
                gates = gr.File(label="Gates (.npz)", elem_id="lstm-gates")
                media = gr.Files(label="Animation (GIF, MP4)")
                bundle = gr.File(label="Download all (.zip)", elem_id="lstm-bundle")
    views = gr.State(None)

    inputs = [series, csv, task, *params]
    csv.upload(lambda: CSV_CHOICE, None, series, api_visibility="private")
    series.change(pick_task, series, task, api_visibility="private")
    live_cost(app, cost_preview, inputs, cost)
    train_button.click(
        lstm_train,
        [*inputs, sequence, show_gates],
        [animation, metrics, gates, bundle, views],
        api_name="lstm_train",
    ).success(show_views, views, [video, step, frame, summary, epochs_view, media], api_visibility="private")
    step.change(show_frame, [views, step], frame, api_visibility="private", show_progress="hidden")
    return Links({"series": Field(series, one_of(*SERIES_TITLES, *LABELLED_SETS))})


TAB = Tab(
    "lstm",
    "LSTM",
    "Train an LSTM live on a real series and watch what its forget gate keeps and forgets.",
    build,
    example={"series": DEFAULT_SERIES},
)
