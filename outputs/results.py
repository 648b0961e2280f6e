"""The files a result is downloaded as, written the same way by the tabs and the command line (no gradio here).

One writer per kind of result: an explanation of a class or of a detected box (overlay PNG, raw map ``.npy``,
manifest JSON, and the README and zip of a download), an MLP training run and an LSTM training run (animation GIF +
MP4, the arrays ``.npz``, metrics JSON). The slider's per-frame PNGs go into a ``frames/`` subfolder, which the
"download all" zip leaves out (the GIF and MP4 hold the same frames).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from explainers.base import Explanation
from explainers.compare import Compared, Report, ranked
from explainers.cross_framework import CrossCheck
from explainers.lstm_training import PARAMS as LSTM_PARAMS
from explainers.lstm_training import LstmRun
from explainers.mlp_dynamics import MlpRun
from explainers.sanity_report import CHECKS, SanityReport
from explainers.versions import package_versions
from hub_models.loaded_model import FrozenModel
from outputs.animation import write_animation
from outputs.compare_render import caption as compare_caption
from outputs.compare_render import curves_figure, model_label, summary_lines
from outputs.cross_check_render import cross_check_overlays
from outputs.export import (
    IMAGE_PLACEHOLDER,
    compare_command,
    detect_command,
    explain_command,
    sanity_command,
    write_bundle,
    write_readme,
)
from outputs.files import write_json, write_npy, write_npz, write_png
from outputs.lstm_render import epochs_figure
from outputs.manifest import manifest
from outputs.render import box_overlay_figure, overlay_figure
from outputs.sanity_render import similarity_plot, stage_caption, step_overlays

MLP_FPS = 6
LSTM_FPS = 8


@dataclass(frozen=True)
class ResultFiles:
    """What a writer wrote: named files, and the slider's frames in order (empty for a single picture)."""

    files: dict[str, Path]
    frames: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SavedExplanation:
    """An explanation's files (``overlay``, ``map``, ``manifest``, and ``bundle`` when one was asked for), the
    overlay's title, and the command line that replays it."""

    files: dict[str, Path]
    title: str
    command: str


def explanation_title(explanation: Explanation) -> str:
    """What the overlay shows: the method and the class, or the detected box, it explains."""
    if explanation.task == "detection":
        score = explanation.extra["score"]
        return f"{explanation.method} for box #{explanation.target}: {explanation.target_label} {score:.2f}"
    return f"{explanation.method} for {explanation.target_label!r} (class {explanation.target})"


def save_explanation(
    folder: Path,
    model: FrozenModel,
    image: np.ndarray,
    explanation: Explanation,
    *,
    image_path: Path | None = None,
    title: str | None = None,
    bundle: str | None = None,
    readme: bool = True,
    prefix: str = "",
    marks: Sequence[Sequence[float]] = (),
) -> SavedExplanation:
    """Writes one explanation as every entry point offers it: ``<key>_<class>_`` or ``<key>_box<id>_`` followed by
    ``overlay.png`` (the map over the image; a box outlined; outside a classifier's crop the photo dimmed),
    ``map.npy`` (float32, the image's resolution, 0 outside the crop box) and ``manifest.json``
    (``outputs.manifest``; a box's manifest adds its ``detection`` record).

    ``image_path``: the picture's file, named in the replay command (the app keeps no uploads: it writes ``IMAGE``).
    ``title``: the overlay's title instead of ``explanation_title``. ``bundle``: also a README (what the files are,
    how to replay them) and a zip of the folder by that name, the app's "download all"; ``readme=False``: no README
    either (a caller that bundles several explanations at the end). ``prefix``: before every file's name (several
    models' explanations of the same class in one folder). ``marks``: the user's boxes, outlined on a classifier's
    overlay.
    """
    title = title or explanation_title(explanation)
    if explanation.task == "detection":
        stem = f"{prefix}{explanation.method_key}_box{explanation.target}"
        overlay = box_overlay_figure(image, explanation.attribution, title, explanation.extra["box"])
        record = {**manifest(model, image, explanation), "detection": explanation.extra}
        replay = detect_command
    else:
        stem = f"{prefix}{explanation.method_key}_{explanation.target}"
        overlay = overlay_figure(image, explanation.attribution, title, crop_box=explanation.crop_box, marks=marks)
        record = manifest(model, image, explanation)
        replay = explain_command
    files = {
        "overlay": write_png(folder, f"{stem}_overlay", overlay),
        "map": write_npy(folder, f"{stem}_map", explanation.attribution),
        "manifest": write_json(folder, f"{stem}_manifest", record),
    }
    if image_path is None:
        command, source = replay(files["manifest"].name), "an uploaded image"
    else:
        command, source = replay(files["manifest"].name, str(image_path.resolve())), image_path.name
    if bundle is not None:
        files["bundle"] = write_bundle(folder, f"{title} on {source}", [command], bundle)
    elif readme:
        write_readme(folder, f"{title} on {source}", [command])
    return SavedExplanation(files, title, command)


def write_mlp(folder: Path, run: MlpRun, frames: list[np.ndarray]) -> ResultFiles:
    """The MLP run's animation (GIF, MP4, frames), final frame, activations per epoch (.npz) and metrics (JSON)."""
    animation = write_animation(frames, folder, "mlp_training", MLP_FPS)
    activations = {f"hidden{i}": layer for i, layer in enumerate(run.activations, start=1)}
    dead = {f"dead_hidden{i}": flags for i, flags in enumerate(run.dead, start=1)}
    arrays = {
        "probabilities": run.probabilities,
        "sample_labels": run.sample_labels,
        "epochs": np.array([record["epoch"] for record in run.history]),
        **activations,
        **dead,
    }
    files = {
        "gif": animation.gif,
        "mp4": animation.mp4,
        "final": write_png(folder, "mlp_final_epoch", frames[-1]),
        "metrics": write_json(folder, "mlp_metrics", run.metrics() | {"versions": package_versions()}),
        "npz": write_npz(folder, "mlp_activations", arrays),
    }
    return ResultFiles(files, animation.frames)


def _gates_arrays(run: LstmRun) -> dict[str, np.ndarray]:
    arrays = {name: values[:, 0] for name, values in run.gates.arrays().items()}
    arrays["epoch_mean_forget"] = run.epoch_forget
    arrays["inputs"] = run.data.validation[0][run.sample].numpy()
    arrays["shown_values"] = run.data.shown[run.sample]
    arrays["times"] = run.data.times[run.sample].astype(str)
    return arrays


def lstm_record(run: LstmRun, series: str, seconds: dict[str, float]) -> dict[str, Any]:
    """The LSTM run's metrics JSON: series, settings, split, the animated sequence, curves, summary, timings."""
    data = run.data
    truth = data.truth[run.sample]
    if data.task == "classify":
        outcome = {"probabilities": dict(zip(data.classes, map(float, run.prediction), strict=True))}
        outcome["truth"] = data.classes[int(truth)]
    else:
        outcome = {
            "forecast": float(run.prediction),
            "truth": float(truth),
            "last_value": float(data.offset[run.sample]),
        }
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "series": {"key": series, "name": data.name, "note": data.note, "step": data.step_name},
        "task": data.task,
        "settings": {param.name: getattr(run.settings, param.name) for param in LSTM_PARAMS}
        | {"batch_size": run.settings.batch_size},
        "split": {"train_sequences": len(data.train[0]), "validation_sequences": len(data.validation[0])},
        "animated_sequence": {"index": run.sample, **outcome},
        "metrics": run.metrics,
        "history": run.history,
        "memory_summary": run.summary,
        "timing_seconds": {name: round(value, 3) for name, value in seconds.items()},
        "gate_order": "nn.LSTM's i, f, g, o; gates.npz arrays are layers x steps x hidden units",
        "versions": package_versions(),
    }


def write_lstm(
    folder: Path, run: LstmRun, frames: list[np.ndarray], series: str, seconds: dict[str, float]
) -> ResultFiles:
    """The LSTM run's animation (GIF, MP4, frames), epochs view (PNG), gates (.npz) and metrics (JSON); ``seconds``
    (training, rendering) gains the time the animation took to write."""
    stem = f"lstm_{series}_{run.data.task}"
    started = time.perf_counter()
    animation = write_animation(frames, folder, stem, LSTM_FPS)
    seconds = seconds | {"encoding": time.perf_counter() - started}
    files = {
        "gif": animation.gif,
        "mp4": animation.mp4,
        "epochs": write_png(folder, f"{stem}_epochs", epochs_figure(run)),
        "npz": write_npz(folder, f"{stem}_gates", _gates_arrays(run)),
        "metrics": write_json(folder, f"{stem}_metrics", lstm_record(run, series, seconds)),
    }
    return ResultFiles(files, animation.frames)


def write_cross_check(folder: Path, image: np.ndarray, result: CrossCheck) -> dict[str, Any]:
    """The cross-framework check's files: one overlay per method and framework (``cross_NN.png``), every map
    (``cross_check_maps.npz``, ``<method>_pytorch`` / ``<method>_keras``) and the record with the package versions
    (``cross_check.json``). Returns ``{"gallery": [(png, caption), ...], "maps": path, "record": path}``."""
    gallery = [
        (write_png(folder, f"cross_{index:02d}", picture), caption)
        for index, (picture, caption) in enumerate(cross_check_overlays(image, result))
    ]
    maps = {
        f"{row.method.key}_{side}": explanation.attribution
        for row in result.methods
        for side, explanation in (("pytorch", row.pytorch), ("keras", row.keras))
    }
    return {
        "gallery": gallery,
        "maps": write_npz(folder, "cross_check_maps", maps),
        "record": write_json(folder, "cross_check", {**result.record(), "versions": package_versions()}),
    }


@dataclass(frozen=True)
class SavedComparison:
    """A comparison's files: ``scores`` (JSON), ``curves`` (PNG), ``bundle`` (zip, with every overlay, map and
    manifest); the gallery as (overlay, caption), best first per model; each model's results best first."""

    files: dict[str, Path]
    gallery: list[tuple[str, str]]
    order: dict[str, list[Compared]]


def write_comparison(
    folder: Path,
    image: np.ndarray,
    report: Report,
    preset: str,
    framing: str,
    sort_by: str,
    image_path: Path | None = None,
) -> SavedComparison:
    """Writes a comparison as the Compare tab and ``python -m explainers compare`` offer it: per model and method an
    overlay, map and manifest (``<model>__<method>_<class>_...`` when several models), the scores record, the curves,
    and a zip whose README opens with the scores and names the command that repeats the comparison.
    """
    order = {model.spec: ranked(model.results, sort_by) for model in report.compared}
    gallery = []
    for model in report.compared:
        label = model_label(report, model)
        prefix = f"{safe_stem(model.name)}__" if label else ""
        for result in order[model.spec]:
            explanation = result.explanation
            title = f"{explanation.method} for {explanation.target_label!r}"  # short: the gallery's pictures are small
            if label:
                title = f"{label}: {title}"
            saved = save_explanation(
                folder, model.loaded, image, explanation, title=title, readme=False, prefix=prefix, marks=report.boxes
            )
            gallery.append((str(saved.files["overlay"]), compare_caption(result, label)))
    first = report.compared[0].results[0].explanation if report.compared else None
    record = {
        "models": [model.record(order.get(model.spec)) for model in report.models],
        "boxes": [list(box) for box in report.boxes],
        "preset": preset,
        "framing": framing,
        "crop_box": list(first.crop_box or ()) if first is not None else [],
        "sorted_by": sort_by,
        "agreement": [agreement.record() for agreement in report.agreement],
        "versions": package_versions(),
    }
    curves = [(model_label(report, model), result) for model in report.compared for result in order[model.spec]]
    files = {"scores": write_json(folder, "compare_scores", record)}
    if curves:
        files["curves"] = write_png(folder, "compare_curves", curves_figure(curves))
    methods = sorted({r.explanation.method for model in report.compared for r in model.results})
    source = "an uploaded image" if image_path is None else image_path.name
    command = compare_command(
        [model.spec for model in report.models],
        methods,
        preset,
        framing,
        report.boxes,
        sort_by,
        IMAGE_PLACEHOLDER if image_path is None else str(image_path.resolve()),
    )
    files["bundle"] = write_bundle(
        folder,
        f"{len(methods)} methods compared on {len(report.models)} model(s), {source}",
        [command],
        "compare_results",
        summary_lines(report, order, sort_by),
    )
    return SavedComparison(files, gallery, order)


def safe_stem(name: str) -> str:
    """A model's name as a file-name part: letters, digits, dots and dashes; the rest becomes "-"."""
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in name).strip("-") or "model"


@dataclass(frozen=True)
class SavedSanity:
    """A sanity report's files (``plot``, ``record``, ``maps``, ``bundle``), one overlay per cascade step in order
    (``frames``, the slider's pictures) and the gallery as (overlay, caption)."""

    files: dict[str, Path]
    frames: list[str]
    gallery: list[tuple[str, str]]


SANITY_OUTCOMES = {"fail": False, "pass": True, "inconclusive": None}


def sanity_summary(report: SanityReport) -> list[str]:
    """The README's first lines: the overall outcome, then every check's verdict in words, one line each."""
    outcome = "passes" if report.passes else "does not pass"
    counts = {word: sum(1 for v in report.verdicts if v.passes is value) for word, value in SANITY_OUTCOMES.items()}
    lines = [
        f"{report.cascade.method} {outcome} the sanity report: {', '.join(f'{n} {w}' for w, n in counts.items())} "
        "(it passes when no check fails and one passes)."
    ]
    return lines + [
        f"{CHECKS[key]}: {verdict.word}. {verdict.text}"
        for key, verdict in zip(report.checks, report.verdicts, strict=True)
    ]


def write_sanity(
    folder: Path,
    image: np.ndarray,
    report: SanityReport,
    model_spec: str,
    image_path: Path | None = None,
) -> SavedSanity:
    """Writes a sanity report as the Sanity section and ``python -m explainers sanity`` offer it:
    ``sanity_<method>_stepNN.png`` (the first seed's map over the image after each step), ``..._similarity.png`` (the
    curves with the chance bands), ``..._correlations.json`` (``SanityReport.record``: every check's numbers and
    verdict), ``..._maps.npz`` (one map per step) and a zip whose README opens with the verdicts and names the
    command that repeats the report (``model_spec``: what the user asked for; blank: the embedded default)."""
    result = report.cascade
    stem = f"sanity_{result.method_key}"
    steps = len(result.stages) - 1
    frames = [
        str(write_png(folder, f"{stem}_step{index:02d}", overlay))
        for index, overlay in enumerate(step_overlays(image, result))
    ]
    files = {
        "plot": write_png(folder, f"{stem}_similarity", similarity_plot(result)),
        "record": write_json(folder, f"{stem}_correlations", report.record()),
        "maps": write_npz(folder, f"{stem}_maps", {f"step{s.step}": s.attribution for s in result.stages}),
    }
    source = "an uploaded image" if image_path is None else image_path.name
    command = sanity_command(
        model_spec,
        result.method,
        steps,
        result.framing,
        result.seeds,
        report.checks,
        IMAGE_PLACEHOLDER if image_path is None else str(image_path.resolve()),
    )
    files["bundle"] = write_bundle(
        folder, f"a sanity report of {result.method} on {source}", [command], "sanity_results", sanity_summary(report)
    )
    gallery = [(frame, stage_caption(stage, steps)) for frame, stage in zip(frames, result.stages, strict=True)]
    return SavedSanity(files, frames, gallery)
