"""Several methods on one image, on up to three models, each map scored on the same perturbations.

Per model and method: the map, its faithfulness (Deletion, Insertion, MuFidelity: ``explainers.faithfulness``), ROAD
(``explainers.road``) and, when the user marked where the object is, its localisation (``explainers.localisation``).
Across models: each model's top-5 and how far the models' maps of the same method agree.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from explainers.base import Cost, Explanation, ProgressFn
from explainers.explain import estimate, explain
from explainers.faithfulness import (
    Faithfulness,
    FaithfulnessSettings,
    faithfulness_inputs,
    faithfulness_scores,
    target_probabilities,
)
from explainers.families import methods_for
from explainers.limits import RequestStopped, check_work
from explainers.localisation import LOCALISATION_SCORES, Box, Localisation, localisation
from explainers.presets import machine_of
from explainers.registry import METHODS, PRESETS, get_method, validate_params
from explainers.road import ROAD_SCORES, Road, RoadSettings, imputation_seconds, road_inputs, road_scores
from explainers.throughput import measure
from hub_models.cache import load_model, normalise_spec
from hub_models.errors import UserInputError, shown
from hub_models.framing import DEFAULT_FRAMING, check_framing
from hub_models.loaded_model import LoadedModel

DEFAULT_METHODS = ("gradcam", "occlusion", "rise", "integrated_gradients", "lime")
FAITHFULNESS_SCORES = {
    "deletion": ("Deletion AUC", False),
    "insertion": ("Insertion AUC", True),
    "mufidelity": ("MuFidelity", True),
}
SCORES = {**FAITHFULNESS_SCORES, **ROAD_SCORES, **LOCALISATION_SCORES}
"""Score key -> (label, whether higher is better): every score a compared map gets (localisation only with marks)."""
MAX_METHODS = len(METHODS)
MAX_MODELS = 3
"""Models side by side: three keeps a report within seconds here and its gallery readable."""
TOP_K = 5


@dataclass(frozen=True)
class Compared:
    """One method's map on one model, and its scores."""

    explanation: Explanation
    scores: Faithfulness
    road: Road
    localisation: Localisation | None
    scoring_seconds: float

    def score(self, key: str) -> float | None:
        """The score ``key`` of ``SCORES`` (None: a localisation score without marks)."""
        if key in FAITHFULNESS_SCORES:
            return float(getattr(self.scores, key))
        if key in ROAD_SCORES:
            return float(self.road.as_dict()[key])
        return None if self.localisation is None else float(getattr(self.localisation, key))

    def record(self) -> dict[str, Any]:
        return {
            "method": self.explanation.method,
            "target": {"index": self.explanation.target, "label": self.explanation.target_label},
            "seconds": round(self.explanation.seconds, 3),
            "model_evaluations": self.explanation.evaluations,
            "scoring_seconds": round(self.scoring_seconds, 3),
            **self.scores.as_dict(),
            **self.road.as_dict(),
            **(self.localisation.as_dict() if self.localisation is not None else {}),
        }


@dataclass(frozen=True)
class ModelReport:
    """One model's part of a comparison: its top-5 and its compared maps, or why it could not take part."""

    spec: str
    name: str = ""
    source: dict[str, str] = field(default_factory=dict)
    top: list[tuple[int, str, float]] = field(default_factory=list)
    results: list[Compared] = field(default_factory=list)
    error: str | None = None
    skipped: list[str] = field(default_factory=list)
    """Chosen methods that give no map on this model (its framework or family), by name."""
    loaded: LoadedModel | None = field(default=None, repr=False, compare=False)
    """The model itself, for what writes the maps' manifests."""

    def record(self, order: list[Compared] | None = None) -> dict[str, Any]:
        """JSON-ready; the methods in ``order`` (the same results sorted) when given."""
        if self.error is not None:
            return {"model": self.spec, "error": self.error}
        return {
            "model": {"name": self.name, **self.source},
            "top5": [{"index": i, "label": label, "probability": round(p, 5)} for i, label, p in self.top],
            "methods": [result.record() for result in (order or self.results)],
            "skipped_methods": self.skipped,
        }


@dataclass(frozen=True)
class Agreement:
    """How far two models' maps of the same method agree: Spearman rank correlation of |map| where both saw."""

    method: str
    models: tuple[str, str]
    spearman: float

    def record(self) -> dict[str, Any]:
        return {"method": self.method, "models": list(self.models), "spearman": round(self.spearman, 4)}


@dataclass(frozen=True)
class Report:
    models: list[ModelReport]
    agreement: list[Agreement]
    boxes: list[Box]

    @property
    def compared(self) -> list[ModelReport]:
        """The models that took part (loaded and explained)."""
        return [report for report in self.models if report.error is None]


def chosen_methods(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Registry keys of the chosen methods (names or keys), in registry order; at least one."""
    if not names:
        raise UserInputError("Choose at least one method to compare.")
    if isinstance(names, str):  # one name, not a list: not its letters
        names = [names]
    keys = {get_method(name).key for name in names}
    return [key for key in METHODS if key in keys]


def chosen_models(specs: Sequence[str | None] | str | None) -> list[str]:
    """The models to compare, each once (blank: the embedded default), at most ``MAX_MODELS``. A spec that is not a
    model id stays as typed: ``plan`` gives it its message in its place."""
    if specs is None or isinstance(specs, str):
        specs = [specs]
    names: list[str] = []
    for spec in specs or [None]:
        try:
            name = normalise_spec(spec)
        except UserInputError:
            name = str(spec).strip()
        if name not in names:
            names.append(name)
    if len(names) > MAX_MODELS:
        raise UserInputError(
            f"Compare at most {MAX_MODELS} models at once; got {len(names)} ({', '.join(map(shown, names))}). "
            "Remove some."
        )
    return names


def check_score(score: str) -> str:
    if score not in SCORES:
        raise UserInputError(f"Unknown score {shown(score)}: sort by one of {', '.join(SCORES)}.")
    return score


def check_preset(preset: str) -> str:
    if preset not in PRESETS:
        raise UserInputError(f"Unknown preset {shown(preset)}: use one of {', '.join(PRESETS)}.")
    return preset


def applicable_methods(model: LoadedModel, keys: list[str]) -> tuple[list[str], list[str]]:
    """``keys`` split into the methods that give a map on ``model`` and the names of those that do not."""
    usable = {method.key for method in methods_for(model, METHODS)}
    return [key for key in keys if key in usable], [METHODS[key].name for key in keys if key not in usable]


def scoring_evaluations(settings: FaithfulnessSettings, road_settings: RoadSettings) -> int:
    """Model evaluations that score one map: faithfulness and ROAD (localisation asks nothing of the model)."""
    return settings.evaluations + road_settings.evaluations


def comparison_evaluations(
    model: LoadedModel,
    methods: list[str],
    preset: str,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    road_settings: RoadSettings = RoadSettings(),
) -> int:
    """Model evaluations of a comparison: every method at ``preset`` (registry keys) and the scoring of its map."""
    size = model.preprocessing.input_size
    sized = machine_of(model)
    values = {key: validate_params(METHODS[key], {"preset": check_preset(preset)}, sized) for key in methods}
    scoring = scoring_evaluations(settings, road_settings)
    return sum(METHODS[key].cost(values[key], size).evaluations + scoring for key in methods)


def comparison_seconds(
    model: LoadedModel,
    methods: list[str],
    preset: str,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    road_settings: RoadSettings = RoadSettings(),
) -> tuple[float, int]:
    """Predicted seconds and model evaluations of a comparison: every method's estimate plus its scoring (ROAD's
    imputations included)."""
    estimates = [estimate(model, key, {"preset": check_preset(preset)}) for key in methods]
    throughput = measure(model.module, model.preprocessing.input_size)
    scoring = len(methods) * scoring_evaluations(settings, road_settings)
    imputing = len(methods) * imputation_seconds(model.preprocessing.input_size, road_settings)
    seconds = sum(e.seconds for e in estimates) + throughput.seconds(Cost(forward=scoring)) + imputing
    return seconds, comparison_evaluations(model, methods, preset, settings, road_settings)


@dataclass(frozen=True)
class PlannedModel:
    """A model of a comparison before it runs: loaded with the methods it will run, or the message why not."""

    spec: str
    model: LoadedModel | None
    methods: list[str]
    skipped: list[str]
    error: str | None = None


def plan(
    specs: Sequence[str | None] | str | None,
    methods: list[str] | tuple[str, ...] | None,
    load: Callable[[str], LoadedModel] = load_model,
) -> list[PlannedModel]:
    """Loads each chosen model; one that fails to load is kept with its message, so the others still run."""
    keys = chosen_methods(methods)
    planned = []
    for spec in chosen_models(specs):
        try:
            model = load(spec)
        except RequestStopped:
            raise
        except UserInputError as error:
            planned.append(PlannedModel(spec, None, [], [], str(error)))
            continue
        usable, skipped = applicable_methods(model, keys)
        planned.append(PlannedModel(spec, model, usable, skipped))
    return planned


def report_cost(
    planned: list[PlannedModel],
    preset: str,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    road_settings: RoadSettings = RoadSettings(),
) -> tuple[float, int]:
    """Predicted seconds and model evaluations of a whole report (the models that loaded)."""
    seconds, evaluations = 0.0, 0
    for entry in planned:
        if entry.model is not None and entry.methods:
            more_seconds, more = comparison_seconds(entry.model, entry.methods, preset, settings, road_settings)
            seconds, evaluations = seconds + more_seconds, evaluations + more
    return seconds, evaluations


def scored(
    model: LoadedModel,
    inputs: torch.Tensor,
    target: int,
    attribution: np.ndarray,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    road_settings: RoadSettings = RoadSettings(),
    seed: int = 0,
) -> tuple[Faithfulness, Road]:
    """One map's faithfulness and ROAD scores, every image both need (curves, MuFidelity's samples, ROAD's imputed
    images) sent through the model in one stream of even batches: the model's own batched throughput."""
    perturbed = faithfulness_inputs(inputs, attribution, settings, seed)
    imputed = road_inputs(inputs, attribution, road_settings, seed)
    batch = torch.cat([perturbed.batch, imputed])
    probabilities = target_probabilities(model.module, batch, target, settings.batch_size)
    split = len(perturbed.batch)
    return (
        faithfulness_scores(probabilities[:split], perturbed, attribution, settings),
        road_scores(probabilities[split:], road_settings),
    )


def compare(
    model: LoadedModel,
    image: np.ndarray,
    methods: list[str],
    preset: str,
    target: str | int | None = None,
    progress: ProgressFn | None = None,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    seed: int = 0,
    framing: str = DEFAULT_FRAMING,
    boxes: Sequence[Box] = (),
    road_settings: RoadSettings = RoadSettings(),
) -> list[Compared]:
    """Each method's map at ``preset`` for the same target, scored with the same seeded MuFidelity masks and ROAD
    noise, and against ``boxes`` (in photo pixels) when given. Every map and every score sees the image framed the
    same way (``framing``); faithfulness and ROAD perturb the framed input the model saw, ranked by the map at the
    model's resolution (``Explanation.input_map``); localisation reads the map on the photo."""
    keys = chosen_methods(methods)
    check_work(
        comparison_evaluations(model, keys, preset, settings, road_settings),
        f"Comparing {len(keys)} methods at their {preset} presets (faithfulness scoring included)",
        "Choose fewer methods or the fast preset.",
    )
    framing = check_framing(framing)
    target_index = model.resolve_target(target, image, framing)
    inputs = model.preprocessing.to_tensor(image, framing)
    results = []
    for index, key in enumerate(keys):
        name = METHODS[key].name

        def report(done: float, text: str, index: int = index, name: str = name) -> None:
            if progress is not None:
                progress((index + 0.8 * done) / len(keys), f"{name} ({index + 1} of {len(keys)}): {text}")

        explanation = explain(model, image, key, target_index, {"preset": preset}, report, framing=framing)
        report(1.0, "scoring faithfulness and ROAD")
        started = time.perf_counter()
        scores, removal = scored(model, inputs, target_index, explanation.input_map, settings, road_settings, seed)
        located = localisation(explanation.attribution, list(boxes)) if boxes else None
        results.append(Compared(explanation, scores, removal, located, time.perf_counter() - started))
    if progress is not None:
        progress(1.0, "done")
    return results


def compare_models(
    specs: Sequence[str | None] | str | None,
    image: np.ndarray,
    methods: list[str] | tuple[str, ...] | None,
    preset: str,
    target: str | int | None = None,
    progress: ProgressFn | None = None,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    seed: int = 0,
    framing: str = DEFAULT_FRAMING,
    boxes: Sequence[Box] = (),
    road_settings: RoadSettings = RoadSettings(),
    load: Callable[[str], LoadedModel] = load_model,
) -> Report:
    """``compare`` on each of up to ``MAX_MODELS`` models, each explaining its own top-1 class (or ``target``),
    with each model's top-5 and the agreement between models' maps of each method.

    A model that fails to load, or whose run fails, keeps its message in its place and leaves the others running;
    a request stopped by its time limit or its client stops the whole report. The work cap counts the whole report.
    """
    check_preset(preset)
    framing = check_framing(framing)
    planned = plan(specs, methods, load)
    _, evaluations = report_cost(planned, preset, settings, road_settings)
    check_work(
        evaluations,
        f"Comparing {len(chosen_methods(methods))} methods on {len(planned)} models at their {preset} presets "
        "(scoring included)",
        "Choose fewer models or methods, or the fast preset.",
    )
    reports = []
    for number, entry in enumerate(planned):

        def report(done: float, text: str, number: int = number, name: str = entry.spec) -> None:
            if progress is not None:
                progress((number + done) / len(planned), f"{name} ({number + 1} of {len(planned)}): {text}")

        if entry.model is None:
            reports.append(ModelReport(entry.spec, error=entry.error))
            continue
        model = entry.model
        try:
            if not entry.methods:
                raise UserInputError(f"None of the chosen methods gives a map on {model.name}.")
            top = model.top_k(image, TOP_K, framing)
            chosen = top[0][0] if target is None or not str(target).strip() else target  # the top-1, not asked twice
            results = compare(
                model, image, entry.methods, preset, chosen, report, settings, seed, framing, boxes, road_settings
            )
        except RequestStopped:
            raise
        except UserInputError as error:
            reports.append(ModelReport(entry.spec, model.name, dict(model.source), error=str(error)))
            continue
        reports.append(
            ModelReport(entry.spec, model.name, dict(model.source), top, results, skipped=entry.skipped, loaded=model)
        )
    if not any(report.error is None for report in reports):
        raise UserInputError("No model could be compared. " + " ".join(f"{shown(r.spec)}: {r.error}" for r in reports))
    if progress is not None:
        progress(1.0, "done")
    return Report(reports, agreement_between(reports), list(boxes))


def seen_together(a: Explanation, b: Explanation) -> tuple[np.ndarray, np.ndarray]:
    """Both maps (at the photo's resolution) inside the part of the photo both models saw."""
    height, width = a.attribution.shape
    boxes = [e.crop_box or (0, 0, width, height) for e in (a, b)]
    left, top = max(box[0] for box in boxes), max(box[1] for box in boxes)
    right, bottom = min(box[2] for box in boxes), min(box[3] for box in boxes)
    return a.attribution[top:bottom, left:right], b.attribution[top:bottom, left:right]


def map_agreement(a: Explanation, b: Explanation) -> float:
    """Spearman rank correlation of |map| over the pixels both models saw (absolute values, as the sanity check
    compares maps: two models may attribute with opposite signs and still point at the same pixels); 0 when one map is
    blank there."""
    first, second = (np.abs(m.astype(np.float64)).ravel() for m in seen_together(a, b))
    if first.size < 2 or first.max() == first.min() or second.max() == second.min():
        return 0.0
    return float(spearmanr(first, second).statistic)


def agreement_between(reports: list[ModelReport]) -> list[Agreement]:
    """Every pair of models' maps of the same method."""
    pairs = []
    for one, other in itertools.combinations([r for r in reports if r.error is None], 2):
        theirs = {result.explanation.method_key: result.explanation for result in other.results}
        for result in one.results:
            if result.explanation.method_key in theirs:
                rho = map_agreement(result.explanation, theirs[result.explanation.method_key])
                pairs.append(Agreement(result.explanation.method, (one.name, other.name), rho))
    return pairs


def ranked(results: list[Compared], score: str) -> list[Compared]:
    """Best first by ``score`` (deletion, ROAD MoRF: lowest first); a localisation score without marks keeps the
    order."""
    check_score(score)
    if any(result.score(score) is None for result in results):
        return list(results)
    higher_is_better = SCORES[score][1]
    return sorted(results, key=lambda r: r.score(score), reverse=higher_is_better)
