"""The Compare section's pictures: one overlay per method (via ``outputs.render``) and the faithfulness curves."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from explainers.compare import Compared
from outputs.animation import figure_to_array


def caption(result: Compared) -> str:
    """The line under an overlay (short: the gallery shows one line): time and the three scores."""
    scores = result.scores
    return (
        f"{result.explanation.method}: {result.explanation.seconds:.1f} s · del {scores.deletion:.2f} · "
        f"ins {scores.insertion:.2f} · μF {scores.mufidelity:.2f}"
    )


def curves_figure(results: list[Compared]) -> np.ndarray:
    """Deletion and insertion curves of every method, side by side, as an RGB array."""
    figure = Figure(figsize=(11, 3.8), dpi=90, layout="constrained")
    deletion, insertion = figure.subplots(1, 2, sharey=True)
    for result in results:
        for axes, curve, score in (
            (deletion, result.scores.deletion_curve, result.scores.deletion),
            (insertion, result.scores.insertion_curve, result.scores.insertion),
        ):
            fraction = np.linspace(0, 100, len(curve))
            axes.plot(fraction, curve, marker=".", label=f"{result.explanation.method} ({score:.3f})")
    deletion.set_title("Deletion: most important pixels removed first (lower area is better)", fontsize=10)
    insertion.set_title("Insertion: most important pixels restored first (higher area is better)", fontsize=10)
    for axes in (deletion, insertion):
        axes.set_xlabel("% of pixels")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    deletion.set_ylabel("probability of the class")
    return figure_to_array(figure)
