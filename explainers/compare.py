"""Several methods on one image and one class, each map scored for faithfulness on the same perturbations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from explainers.base import Cost, Explanation, ProgressFn
from explainers.explain import estimate, explain
from explainers.faithfulness import Faithfulness, FaithfulnessSettings, faithfulness
from explainers.limits import check_work
from explainers.presets import machine_of
from explainers.registry import METHODS, PRESETS, get_method, validate_params
from explainers.throughput import measure
from hub_models.errors import UserInputError, shown
from hub_models.framing import DEFAULT_FRAMING, check_framing
from hub_models.loaded_model import LoadedModel

DEFAULT_METHODS = ("gradcam", "occlusion", "rise", "integrated_gradients", "lime")
SCORES = {
    "deletion": ("Deletion AUC", False),
    "insertion": ("Insertion AUC", True),
    "mufidelity": ("MuFidelity", True),
}
"""Score key -> (label, whether higher is better)."""
MAX_METHODS = len(METHODS)


@dataclass(frozen=True)
class Compared:
    explanation: Explanation
    scores: Faithfulness
    scoring_seconds: float

    def record(self) -> dict[str, Any]:
        return {
            "method": self.explanation.method,
            "seconds": round(self.explanation.seconds, 3),
            "model_evaluations": self.explanation.evaluations,
            "scoring_seconds": round(self.scoring_seconds, 3),
            **self.scores.as_dict(),
        }


def chosen_methods(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Registry keys of the chosen methods (names or keys), in registry order; at least one."""
    if not names:
        raise UserInputError("Choose at least one method to compare.")
    if isinstance(names, str):  # one name, not a list: not its letters
        names = [names]
    keys = {get_method(name).key for name in names}
    return [key for key in METHODS if key in keys]


def check_preset(preset: str) -> str:
    if preset not in PRESETS:
        raise UserInputError(f"Unknown preset {shown(preset)}: use one of {', '.join(PRESETS)}.")
    return preset


def comparison_evaluations(
    model: LoadedModel, methods: list[str], preset: str, settings: FaithfulnessSettings = FaithfulnessSettings()
) -> int:
    """Model evaluations of a comparison: every method at ``preset`` (registry keys) and the scoring of its map."""
    size = model.preprocessing.input_size
    sized = machine_of(model)
    values = {key: validate_params(METHODS[key], {"preset": check_preset(preset)}, sized) for key in methods}
    return sum(METHODS[key].cost(values[key], size).evaluations + settings.evaluations for key in methods)


def comparison_seconds(
    model: LoadedModel, methods: list[str], preset: str, settings: FaithfulnessSettings = FaithfulnessSettings()
) -> tuple[float, int]:
    """Predicted seconds and model evaluations of a comparison: every method's estimate plus its scoring."""
    estimates = [estimate(model, key, {"preset": check_preset(preset)}) for key in methods]
    throughput = measure(model.module, model.preprocessing.input_size)
    scoring = len(methods) * settings.evaluations
    seconds = sum(e.seconds for e in estimates) + throughput.seconds(Cost(forward=scoring))
    return seconds, comparison_evaluations(model, methods, preset, settings)


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
) -> list[Compared]:
    """Each method's map at ``preset`` for the same target, scored with the same seeded MuFidelity masks. Every map
    and every score sees the image framed the same way (``framing``); the scores perturb the framed input the
    model saw, ranked by the map at the model's resolution (``Explanation.input_map``)."""
    keys = chosen_methods(methods)
    check_work(
        comparison_evaluations(model, keys, preset, settings),
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
        report(1.0, "scoring faithfulness")
        started = time.perf_counter()
        scores = faithfulness(model.module, inputs, target_index, explanation.input_map, settings, seed)
        results.append(Compared(explanation, scores, time.perf_counter() - started))
    if progress is not None:
        progress(1.0, "done")
    return results


def ranked(results: list[Compared], score: str) -> list[Compared]:
    """Best first by ``score`` (deletion: lowest first)."""
    if score not in SCORES:
        raise UserInputError(f"Unknown score {shown(score)}: sort by one of {', '.join(SCORES)}.")
    higher_is_better = SCORES[score][1]
    return sorted(results, key=lambda r: getattr(r.scores, score), reverse=higher_is_better)
