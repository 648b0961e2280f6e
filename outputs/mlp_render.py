"""The MLP tab's frames: per epoch, hidden activations and class probabilities (samples grouped by class) beside
the loss and accuracy curves. One figure is built once and its artists updated per epoch, so a frame costs a redraw.
"""

from __future__ import annotations

import itertools

import numpy as np
from matplotlib.artist import Artist
from matplotlib.colors import ListedColormap, Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

from explainers.mlp_dynamics import MlpRun
from outputs.animation import blitted_frames

FLAG_COLOURS = ListedColormap(["#ffffff", "#d62728", "#ff9f1c"])
"""Unit flags: fine, dead, saturated."""
DPI = 80


def _scaled_layers(run: MlpRun) -> tuple[np.ndarray, bool, list[int]]:
    """All hidden layers side by side, each divided by its 99th percentile |activation| over every epoch (clipped
    to 1), so a few very active units do not leave the rest black."""
    scaled = [np.clip(layer / max(float(np.percentile(np.abs(layer), 99)), 1e-12), -1, 1) for layer in run.activations]
    edges = np.cumsum([layer.shape[2] for layer in run.activations])[:-1].tolist()
    return np.concatenate(scaled, axis=2), bool(min(float(layer.min()) for layer in scaled) < 0), edges


def _flags(run: MlpRun, epoch: int) -> np.ndarray:
    dead = np.concatenate([d[epoch] for d in run.dead])
    saturated = np.concatenate([s[epoch] for s in run.saturated])
    return (np.where(dead, 1, 0) + np.where(saturated & ~dead, 2, 0))[None, :]


def _class_axis(axes, labels: np.ndarray, names: list[str], *, show_names: bool) -> list[Artist]:
    """Class separators (returned: they are redrawn over each frame) and each class's name by its rows."""
    starts = np.flatnonzero(np.diff(labels)) + 1
    separators = [axes.axhline(start - 0.5, color="white", linewidth=0.8) for start in starts]
    bounds = [0, *starts.tolist(), len(labels)]
    centres = [(low + high - 1) / 2 for low, high in itertools.pairwise(bounds)]
    axes.set_yticks(centres, [names[labels[b]] for b in bounds[:-1]] if show_names else [], fontsize=7)
    return separators


def render_frames(run: MlpRun) -> list[np.ndarray]:
    """One RGB frame per recorded epoch (epoch 0 = before training)."""
    layers, signed, edges = _scaled_layers(run)
    epochs = [record["epoch"] for record in run.history]
    n_classes = len(run.class_names)

    figure = Figure(figsize=(14, 5.2), dpi=DPI, layout="constrained")
    grid = figure.add_gridspec(2, 3, width_ratios=[2.2, 1.0, 1.4], height_ratios=[1, 14])
    flag_axes = figure.add_subplot(grid[0, 0])
    units_axes = figure.add_subplot(grid[1, 0], sharex=flag_axes)
    probs_axes = figure.add_subplot(grid[:, 1])
    curves = grid[:, 2].subgridspec(2, 1, hspace=0.05)
    loss_axes = figure.add_subplot(curves[0])
    acc_axes = figure.add_subplot(curves[1], sharex=loss_axes)

    norm = TwoSlopeNorm(0.0, -1.0, 1.0) if signed else Normalize(0.0, 1.0)
    units = units_axes.imshow(layers[0], aspect="auto", cmap="RdBu_r" if signed else "magma", norm=norm)
    separators = [units_axes.axvline(edge - 0.5, color="#39ff14", linewidth=1.2) for edge in edges]
    separators += _class_axis(units_axes, run.sample_labels, run.class_names, show_names=True)
    units_axes.set_xlabel(" | ".join(run.layer_names) + "  (hidden units)")
    units_axes.set_ylabel("validation samples, grouped by class")
    figure.colorbar(units, ax=units_axes, label="activation (1 = layer's 99th percentile)", fraction=0.04, pad=0.01)
    flags = flag_axes.imshow(_flags(run, 0), aspect="auto", cmap=FLAG_COLOURS, vmin=0, vmax=2, interpolation="nearest")
    flag_axes.set_yticks([])
    flag_axes.tick_params(labelbottom=False, bottom=False)
    flag_title = flag_axes.set_title("", fontsize=9, loc="left")

    probs = probs_axes.imshow(
        run.probabilities[0], aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest"
    )
    separators += _class_axis(probs_axes, run.sample_labels, run.class_names, show_names=False)
    probs_axes.set_xticks(range(n_classes), run.class_names, rotation=90 if n_classes > 4 else 0, fontsize=7)
    probs_axes.set_xlabel("predicted class probability")
    figure.colorbar(probs, ax=probs_axes, fraction=0.06, pad=0.01)

    for axes, key, label in ((loss_axes, "loss", "cross-entropy"), (acc_axes, "accuracy", "accuracy")):
        axes.plot(epochs, [r[f"train_{key}"] for r in run.history], label="train", color="#1f77b4")
        axes.plot(epochs, [r[f"val_{key}"] for r in run.history], label="validation", color="#d62728")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        if run.overfit_epoch is not None:
            axes.axvline(run.overfit_epoch, color="#ff9f1c", linestyle="--", linewidth=1.2)
    if run.overfit_epoch is not None:
        loss_axes.annotate(
            f"validation loss rises after epoch {run.overfit_epoch}",
            (run.overfit_epoch, run.history[run.overfit_epoch]["val_loss"]),
            xytext=(0.25, 0.55),
            textcoords="axes fraction",
            fontsize=8,
            color="#b35900",
            arrowprops={"arrowstyle": "->", "color": "#b35900"},
        )
    loss_axes.legend(fontsize=8, loc="upper right", framealpha=0.9)
    loss_axes.tick_params(labelbottom=False)
    acc_axes.set_ylim(0, 1.02)
    acc_axes.set_xlabel("epoch")
    markers = [axes.axvline(0, color="black", linewidth=1.5) for axes in (loss_axes, acc_axes)]
    title = figure.suptitle("", fontsize=12)

    def update(index: int) -> None:
        record = run.history[index]
        units.set_data(layers[index])
        probs.set_data(run.probabilities[index])
        flags.set_data(_flags(run, index))
        n_dead = sum(int(d[index].sum()) for d in run.dead)
        n_saturated = sum(int(s[index].sum()) for s in run.saturated)
        flag_title.set_text(f"unit flags: {n_dead} dead (red), {n_saturated} saturated (orange)")
        for marker in markers:
            marker.set_xdata([epochs[index]] * 2)
        title.set_text(
            f"{run.dataset}: epoch {epochs[index]}/{epochs[-1]}   train accuracy {record['train_accuracy']:.1%}, "
            f"validation {record['val_accuracy']:.1%}   (loss {record['train_loss']:.3f} / {record['val_loss']:.3f})"
        )

    update(len(epochs) - 1)  # the longest texts, so the layout leaves room for them
    figure.draw_without_rendering()
    figure.set_layout_engine("none")  # laid out once, so the frames line up

    return blitted_frames(figure, [units, probs, flags, *separators, flag_title, *markers, title], update, len(epochs))
