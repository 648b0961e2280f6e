"""The Compare section's pictures and tables: captions, the scores table, the curves, the agreement between models
and the lines a report's README opens with (overlays come from ``outputs.render``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from explainers.compare import SCORES, Compared, ModelReport, Report
from explainers.localisation import LOCALISATION_SCORES
from hub_models.errors import shown
from outputs.animation import figure_to_array

TABLE_SCORES = ("deletion", "insertion", "mufidelity", "road_morf", "road_lerf", *LOCALISATION_SCORES)
"""The scores table's score columns, in order."""
TABLE_HEADERS = [
    "model",
    "method",
    "seconds",
    *(f"{SCORES[key][0]} {'↑' if SCORES[key][1] else '↓'}" for key in TABLE_SCORES),
]
AGREEMENT_HEADERS = ["method", "model", "other model", "Spearman of |map|"]


def caption(result: Compared, model: str | None = None) -> str:
    """The line under an overlay (short: the gallery shows one line): model, time and the main scores."""
    scores = result.scores
    located = "" if result.localisation is None else f" · mass {result.localisation.relevance_mass:.2f}"
    who = f"{model} · " if model else ""
    return (
        f"{who}{result.explanation.method}: {result.explanation.seconds:.1f} s · del {scores.deletion:.2f} · "
        f"ins {scores.insertion:.2f} · μF {scores.mufidelity:.2f} · ROAD {result.road.combined:+.2f}{located}"
    )


def _rounded(value: float | None) -> float | str:
    return "" if value is None else round(value, 4)


def table_rows(report: Report, order: dict[str, list[Compared]]) -> list[list[Any]]:
    """One row per model and method (``order``: each model's results, best first), localisation blank unmarked."""
    return [
        [
            model.name,
            result.explanation.method,
            round(result.explanation.seconds, 2),
            *(_rounded(result.score(key)) for key in TABLE_SCORES),
        ]
        for model in report.compared
        for result in order[model.spec]
    ]


def agreement_rows(report: Report) -> list[list[Any]]:
    return [[a.method, a.models[0], a.models[1], round(a.spearman, 3)] for a in report.agreement]


def models_markdown(report: Report) -> str:
    """Each model's top-5, or the message saying why it is not in the comparison."""
    parts = []
    for model in report.models:
        if model.error is not None:
            parts.append(f"**{shown(model.spec)}**: not compared. {model.error}")
            continue
        top = ", ".join(f"{label} {probability:.2f}" for _, label, probability in model.top)
        skipped = f" (no map here from {', '.join(model.skipped)})" if model.skipped else ""
        parts.append(f"**{model.name}** top-5: {top}{skipped}")
    return "\n\n".join(parts)


def summary_lines(report: Report, order: dict[str, list[Compared]], sort_by: str) -> list[str]:
    """The README's opening: the marks, each model's top-1 and its methods' scores, best ``sort_by`` first, and the
    agreement between models."""
    lines = [f"Boxes marked (x1, y1, x2, y2 in image pixels): {[list(box) for box in report.boxes] or 'none'}"]
    for model in report.models:
        if model.error is not None:
            lines.append(f"{shown(model.spec)}: not compared: {model.error}")
            continue
        _, label, probability = model.top[0]
        lines.append(f"{model.name}: top-1 {label!r} {probability:.3f}; best {SCORES[sort_by][0]} first:")
        for result in order[model.spec]:
            scores = ", ".join(
                f"{SCORES[key][0]} {result.score(key):.3f}" for key in TABLE_SCORES if result.score(key) is not None
            )
            lines.append(f"  {result.explanation.method}: {scores}")
    for agreement in report.agreement:
        lines.append(
            f"Agreement of {agreement.method} between {agreement.models[0]} and {agreement.models[1]}: "
            f"Spearman {agreement.spearman:.3f}"
        )
    return lines


CURVES = (
    ("Deletion: most relevant pixels removed first (lower area is better)", "deletion_curve", "deletion"),
    ("Insertion: most relevant pixels restored first (higher area is better)", "insertion_curve", "insertion"),
    ("ROAD MoRF: most relevant removed, imputed (lower is better)", "morf_curve", "road_morf"),
    ("ROAD LeRF: least relevant removed, imputed (higher is better)", "lerf_curve", "road_lerf"),
)


def _curve(result: Compared, attribute: str) -> tuple[np.ndarray, list[float]]:
    """A curve's x (percent of pixels) and y (probability of the class)."""
    if attribute in ("morf_curve", "lerf_curve"):
        return np.asarray(result.road.percentages, dtype=float), getattr(result.road, attribute)
    curve = getattr(result.scores, attribute)
    return np.linspace(0, 100, len(curve)), curve


def curves_figure(results: list[tuple[str | None, Compared]]) -> np.ndarray:
    """Deletion, insertion and ROAD's two curves of every (model, method), as an RGB array."""
    figure = Figure(figsize=(11, 7.2), dpi=90, layout="constrained")
    axes_grid = figure.subplots(2, 2, sharey=True)
    for axes, (title, attribute, score) in zip(axes_grid.ravel(), CURVES, strict=True):
        for model, result in results:
            x, y = _curve(result, attribute)
            who = f"{model} · " if model else ""
            axes.plot(x, y, marker=".", label=f"{who}{result.explanation.method} ({result.score(score):.3f})")
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("% of pixels")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    for axes in axes_grid[:, 0]:
        axes.set_ylabel("probability of the class")
    return figure_to_array(figure)


def model_label(report: Report, model: ModelReport) -> str | None:
    """How a model is named in captions and legends: nothing when it is the only one compared."""
    return model.name if len(report.compared) > 1 else None
