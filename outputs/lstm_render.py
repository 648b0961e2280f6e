"""The LSTM tab's pictures: one frame per step of the animated window (the series with the current step marked, the
forget gate of every unit filling in step by step, optionally the input/output gates and the cell state, the
prediction against the truth), and the mean forget gate per unit across the epochs beside the loss curves.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from explainers.lstm_training import LstmRun
from outputs.animation import blitted_frames, figure_to_array

DPI = 80
NOT_YET = "#dddddd"
"""Steps the animation has not reached."""
GATE_COLORMAP = colormaps["magma"].with_extremes(bad=NOT_YET)
"""Bright = open (forget gate: keep), dark = shut (forget gate: forget)."""
CELL_COLORMAP = colormaps["RdBu_r"].with_extremes(bad=NOT_YET)


def _time_label(run: LstmRun, step: int) -> str:
    value = run.data.times[run.sample][step]
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    return f"{run.data.step_name} {value}" if run.data.task == "classify" else str(value)


def _outcome(run: LstmRun) -> str:
    data = run.data
    truth = data.truth[run.sample]
    if data.task == "classify":
        guess = int(np.argmax(run.prediction))
        return f"predicted {data.classes[guess]} ({run.prediction[guess]:.0%}), truth {data.classes[int(truth)]}" + (
            "" if guess == truth else "  (wrong)"
        )
    return f"forecast {float(run.prediction):.4g}, truth {truth:.4g}, last value {data.offset[run.sample]:.4g}"


def render_frames(run: LstmRun, show_gates: bool = True) -> list[np.ndarray]:
    """One RGB frame per step of the animated sequence; the gates of the LSTM's top layer."""
    data, layer = run.data, run.gates.forget.shape[0] - 1
    window = data.window
    panels = [("forget gate f (bright = keep)", run.gates.forget)]
    if show_gates:
        panels += [
            ("input gate i (bright = write)", run.gates.input),
            ("output gate o (bright = show)", run.gates.output),
            ("cell state c", run.gates.cell),
        ]
    maps = [values[layer, 0].T for _, values in panels]  # units x steps
    units = maps[0].shape[0]

    height = 2.4 + (1.3 + 0.06 * units) * (2 if show_gates else 1)
    figure = Figure(figsize=(12, height), dpi=DPI, layout="constrained")
    grid = figure.add_gridspec(1 + (len(panels) + 1) // 2, 2, height_ratios=[1.2] + [1] * ((len(panels) + 1) // 2))
    series_axes = figure.add_subplot(grid[0, :])
    steps = np.arange(window)
    series_axes.plot(steps, data.shown[run.sample], color="#1f77b4", marker=".", label="input window")
    if data.task == "forecast":
        series_axes.plot([window], [data.truth[run.sample]], "kx", markersize=10, mew=2, label="truth")
        series_axes.plot([window], [float(run.prediction)], "o", color="#d62728", markersize=8, label="forecast")
    series_axes.set_xlim(-0.5, window + 0.5)
    series_axes.set_ylabel(data.value_label)
    series_axes.set_xlabel(f"{data.step_name}s in the window: {_time_label(run, 0)} to {_time_label(run, window - 1)}")
    series_axes.grid(alpha=0.3)
    series_axes.legend(fontsize=8, loc="upper left")
    marker = series_axes.plot([0], [data.shown[run.sample, 0]], "o", color="#ff9f1c", markersize=12, mew=2)[0]
    cursor = series_axes.axvline(0, color="#ff9f1c", linewidth=1.5)

    images = []
    for index, ((title, _), values) in enumerate(zip(panels, maps, strict=True)):
        axes = figure.add_subplot(grid[1 + index // 2, index % 2] if show_gates else grid[1, :])
        if title.startswith("cell"):
            limit = max(float(np.percentile(np.abs(values), 99)), 1e-6)
            image = axes.imshow(values, aspect="auto", cmap=CELL_COLORMAP, vmin=-limit, vmax=limit)
        else:
            image = axes.imshow(values, aspect="auto", cmap=GATE_COLORMAP, vmin=0, vmax=1)
        axes.set_xlim(-0.5, window + 0.5)
        axes.set_title(title, fontsize=9, loc="left")
        axes.set_ylabel("hidden unit")
        axes.set_xlabel(f"step ({data.step_name})")
        figure.colorbar(image, ax=axes, fraction=0.04, pad=0.01)
        images.append((image, values))
    layers = run.gates.forget.shape[0]
    where = f", layer {layer + 1} of {layers}" if layers > 1 else ""
    title = figure.suptitle("", fontsize=11)

    def update(step: int) -> None:
        for image, values in images:
            image.set_data(np.ma.masked_where(np.broadcast_to(steps > step, values.shape), values))
        marker.set_data([step], [data.shown[run.sample, step]])
        cursor.set_xdata([step, step])
        title.set_text(
            f"{data.name}{where}: step {step + 1}/{window} ({_time_label(run, step)}), "
            f"value {data.shown[run.sample, step]:.4g}   |   {_outcome(run)}"
        )

    update(window - 1)
    figure.draw_without_rendering()
    figure.set_layout_engine("none")  # laid out once, so the frames line up
    changing = [image for image, _ in images] + [marker, cursor, title]
    return blitted_frames(figure, changing, update, window)


def epochs_figure(run: LstmRun) -> np.ndarray:
    """Mean forget gate per unit (over validation sequences and steps) after each epoch, beside the losses."""
    epochs = [int(record["epoch"]) for record in run.history]
    figure = Figure(figsize=(12, 3.6), dpi=DPI, layout="constrained")
    heat_axes, loss_axes = figure.subplots(1, 2, width_ratios=[1.6, 1])
    layers, units = run.epoch_forget.shape[1], run.epoch_forget.shape[2]
    stacked = run.epoch_forget.transpose(1, 2, 0).reshape(layers * units, len(epochs))
    image = heat_axes.imshow(
        stacked,
        aspect="auto",
        cmap=GATE_COLORMAP,
        vmin=0,
        vmax=1,
        extent=(-0.5, epochs[-1] + 0.5, len(stacked) - 0.5, -0.5),
    )
    for edge in range(1, layers):
        heat_axes.axhline(edge * units - 0.5, color="#39ff14", linewidth=1.2)
    heat_axes.set_xticks(epochs if len(epochs) <= 12 else epochs[:: math.ceil(len(epochs) / 12)])
    heat_axes.set_xlabel("epoch (0 = before training)")
    heat_axes.set_ylabel("hidden unit" + (" (layers stacked)" if layers > 1 else ""))
    heat_axes.set_title("mean forget gate per unit across epochs (bright = keeps)", fontsize=10, loc="left")
    figure.colorbar(image, ax=heat_axes, fraction=0.04, pad=0.01)
    for split, colour in (("train", "#1f77b4"), ("val", "#d62728")):
        loss_axes.plot(epochs, [r[f"{split}_loss"] for r in run.history], color=colour, marker=".", label=split)
    loss_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("cross-entropy" if run.data.task == "classify" else "MSE (scaled change)")
    loss_axes.grid(alpha=0.3)
    loss_axes.legend(fontsize=8)
    loss_axes.set_title("loss", fontsize=10, loc="left")
    return figure_to_array(figure)
