"""The sanity check's pictures: one overlay per randomisation step, and the similarity curves against step."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from explainers.sanity import SanityResult, Stage
from outputs.animation import figure_to_array
from outputs.render import overlay_figure

SPEARMAN_COLOUR = "#1f77b4"
SSIM_COLOUR = "#ff7f0e"
FAIL_COLOUR = "#d62728"


def stage_caption(stage: Stage, steps: int) -> str:
    """'step 2 of 5, randomised features.18, features.17: Spearman 0.11, SSIM 0.54' (step 0: the original)."""
    if stage.step == 0:
        return "step 0: original model"
    return (
        f"step {stage.step} of {steps}, randomised {stage.describe()}: "
        f"Spearman {stage.spearman:.2f}, SSIM {stage.ssim:.2f}"
    )


def step_overlays(image: np.ndarray, result: SanityResult) -> list[np.ndarray]:
    """The image with each step's map over it, titled with the step, what it randomised and its scores."""
    steps = len(result.stages) - 1
    titles = [f"{result.method}: step 0 of {steps}, the original model"] + [
        f"{result.method}: step {stage.step} of {steps}\nrandomised {stage.describe()}\n"
        f"Spearman {stage.spearman:.2f}, SSIM {stage.ssim:.2f} against step 0"
        for stage in result.stages[1:]
    ]
    return [
        overlay_figure(image, stage.attribution, title, crop_box=result.crop_box)
        for stage, title in zip(result.stages, titles, strict=True)
    ]


def similarity_plot(result: SanityResult) -> np.ndarray:
    """Spearman and SSIM (means over seeds) against step, Spearman's mean ± sd band, and the chance bands (the
    randomised models' maps against each other) shaded; each tick names the lowest block randomised so far."""
    steps = [stage.step for stage in result.stages]
    spearman = [stage.spearman for stage in result.stages]
    ssim = [stage.ssim for stage in result.stages]
    figure = Figure(figsize=(6.4, 3.6), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(steps, spearman, "o-", color=SPEARMAN_COLOUR, label="Spearman rank correlation")
    axes.plot(steps, ssim, "s--", color=SSIM_COLOUR, label="SSIM")
    for series, colour in ((result.chance_spearman, SPEARMAN_COLOUR), (result.chance_ssim, SSIM_COLOUR)):
        axes.axhspan(series.low, series.high, color=colour, alpha=0.12)
    spread = [stage.spearman_seeds.sd for stage in result.stages]
    axes.fill_between(
        steps,
        np.subtract(spearman, spread),
        np.add(spearman, spread),
        color=SPEARMAN_COLOUR,
        alpha=0.2,
        label=f"Spearman mean ± sd over {result.seeds} seeds; shaded bands: chance (randomised vs randomised)",
    )
    ticks = ["original"] + [f"to {stage.blocks[-1]}" for stage in result.stages[1:]]
    axes.set_xticks(steps, ticks, rotation=30, ha="right", fontsize=8)
    axes.set_xlabel("layers randomised, from the top down")
    axes.set_ylabel("similarity to the original map")
    axes.set_ylim(min(-0.1, *spearman, *ssim) - 0.05, 1.08)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="best", framealpha=0.9)
    verdict = result.judged.word
    axes.set_title(f"{result.method} {verdict} the sanity check", fontsize=11)
    return figure_to_array(figure)
