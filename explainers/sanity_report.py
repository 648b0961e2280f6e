"""The sanity report: the chosen checks run together on one image, sharing the randomised models and one cost.

Checks (keys): ``cascade`` (``explainers.sanity``), ``smooth_mprt`` and ``efficient_mprt`` (``explainers.mprt``),
``random_logit`` (``explainers.random_logit``). Every check uses the cascade's ``seeds`` fully randomised copies of
the model (the cascade runs with one stage when it is not asked for), so the model is randomised once per seed; the
loaded model is never modified. All the model evaluations are counted before anything runs (``check_work``) and
shown by ``describe_cost``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explainers.base import Explanation, ProgressFn
from explainers.explain import estimate, explain
from explainers.limits import check_work, work_note
from explainers.mprt import (
    SAMPLES,
    EfficientResult,
    SmoothResult,
    efficient_result,
    input_explainer,
    smooth_result,
    smoothed_map,
)
from explainers.presets import machine_of
from explainers.random_logit import RandomLogitResult, logit_similarity, other_class
from explainers.registry import get_method
from explainers.sanity import STEPS, SanityResult, cascade_runs, cascading_randomisation, report_params
from explainers.sanity_stats import SEED_STRIDE, SEEDS, RunCounter, Spread, Verdict
from hub_models.errors import UserInputError
from hub_models.framing import DEFAULT_FRAMING, check_framing
from hub_models.keras_models import KERAS
from hub_models.loaded_model import LoadedModel

CHECKS = {
    "cascade": "cascading randomisation",
    "smooth_mprt": "Smooth MPRT",
    "efficient_mprt": "Efficient MPRT",
    "random_logit": "random logit",
}
DEFAULT_CHECKS = ("cascade", "efficient_mprt", "random_logit")
"""What runs when no check is named: the checks that reuse the cascade's randomised models and add at most one map
per seed (Efficient MPRT none, random logit ``seeds``), so a default report costs about the cascade's
``1 + steps x seeds`` maps plus ``seeds``: 19 for Grad-CAM at 5 steps and 3 seeds, a few seconds on a 2-core CPU.

Smooth MPRT runs only when asked for: it explains ``samples`` noisy copies of the input for the trained model and
every randomised one, ``(seeds + 1) x samples`` maps (40 at 10 samples), twice the rest of the report together
(measured: Grad-CAM's report with it took 14-26 s here, without it a few seconds). It is the repair Hedström et al.
(2023) propose for methods whose maps are noisy (gradients, Integrated Gradients), so the section offers it, with its
cost in the preview, rather than spending it on every run; for a Keras model it cannot run at all (the noise goes
through the PyTorch path)."""


def parse_checks(checks: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Check keys (or names) from a comma-separated string or a list, in ``CHECKS`` order; None when blank (the
    default for the method); a clear error for an unknown one."""
    if checks is None or (isinstance(checks, str) and not checks.strip()):
        return None
    items = checks.split(",") if isinstance(checks, str) else list(checks)
    by_name = {name.lower(): key for key, name in CHECKS.items()} | {key: key for key in CHECKS}
    chosen = set()
    for item in items:
        key = by_name.get(str(item).strip().lower().replace("-", "_"), by_name.get(str(item).strip().lower()))
        if key is None:
            raise UserInputError(
                f"Unknown sanity check {str(item).strip()!r}. Choose from: {', '.join(CHECKS)} (or leave it blank for "
                "the default)."
            )
        chosen.add(key)
    if not chosen:
        return None
    return tuple(key for key in CHECKS if key in chosen)


@dataclass(frozen=True)
class Plan:
    """What a report will run: the checks, the cascade's steps, and the maps each check makes."""

    checks: tuple[str, ...]
    steps: int
    seeds: int
    samples: int
    runs: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.runs.values())


def smooth_runs(seeds: int, samples: int) -> int:
    """Smooth MPRT's maps: ``samples`` noisy copies for the trained model and for each seed's randomised one."""
    return (seeds + 1) * samples


def plan(steps: Any, seeds: Any, checks: Any, samples: Any = SAMPLES.fast) -> Plan:
    """The checks to run (``checks``, blank: ``DEFAULT_CHECKS``) and how many maps each makes (Efficient MPRT
    none: it reads the cascade's maps)."""
    seeds, samples = SEEDS.check(seeds, "Sanity check"), SAMPLES.check(samples, "Sanity check")
    chosen = parse_checks(checks) or DEFAULT_CHECKS
    steps = STEPS.check(steps, "Sanity check") if "cascade" in chosen else 1
    runs = {"cascade": cascade_runs(steps, seeds)}
    if "smooth_mprt" in chosen:
        runs["smooth_mprt"] = smooth_runs(seeds, samples)
    if "random_logit" in chosen:
        runs["random_logit"] = seeds
    return Plan(chosen, steps, seeds, samples, runs)


def describe_cost(
    model: LoadedModel,
    method: str,
    params: str | dict[str, Any] | None,
    steps: Any,
    seeds: Any = SEEDS.default,
    checks: Any = None,
    drawing_per_step: float = 0.0,
    samples: Any = SAMPLES.fast,
) -> str:
    """The cost preview: the method's own estimate times the maps every chosen check makes, plus
    ``drawing_per_step`` seconds for each picture the caller draws (one per cascade step and the original).

    Without Smooth MPRT it also says what ticking it would add, since that is the one check that multiplies the
    report's cost (``DEFAULT_CHECKS``)."""
    planned = plan(steps, seeds, checks, samples)
    one = estimate(model, method, report_params(get_method(method), params, planned.total, machine_of(model)))
    parts = [f"cascade {planned.runs['cascade']} (original + {planned.steps} steps x {planned.seeds} seeds)"]
    if "smooth_mprt" in planned.runs:
        parts.append(
            f"Smooth MPRT {planned.runs['smooth_mprt']} ({planned.samples} noisy copies x {planned.seeds + 1} models)"
        )
    if "random_logit" in planned.runs:
        parts.append(f"random logit {planned.runs['random_logit']}")
    if "efficient_mprt" in planned.checks:
        parts.append("Efficient MPRT 0 (it reads the cascade's maps)")
    evaluations = planned.total * one.cost.evaluations
    seconds = planned.total * one.seconds + (planned.steps + 1) * drawing_per_step
    text = (
        f"{one.method.name}, {planned.total} runs ({', '.join(parts)}): about {evaluations:,} model evaluations, "
        f"about {seconds:.1f} s here."
    )
    if "smooth_mprt" not in planned.checks and model.framework != KERAS:
        extra = smooth_runs(planned.seeds, planned.samples)
        text += f" Ticking Smooth MPRT adds {extra} runs (about {extra * one.seconds:.1f} s)."
    return text + work_note(evaluations)


@dataclass(frozen=True)
class SanityReport:
    """The chosen checks' results on one image (``cascade`` always holds the randomisation the others share)."""

    checks: tuple[str, ...]
    cascade: SanityResult
    smooth: SmoothResult | None = None
    efficient: EfficientResult | None = None
    random_logit: RandomLogitResult | None = None

    @property
    def verdicts(self) -> list[Verdict]:
        found = {
            "cascade": self.cascade.judged,
            "smooth_mprt": self.smooth.judged if self.smooth else None,
            "efficient_mprt": self.efficient.judged if self.efficient else None,
            "random_logit": self.random_logit.judged if self.random_logit else None,
        }
        return [found[key] for key in self.checks if found[key] is not None]

    @property
    def passes(self) -> bool:
        """No check fails and at least one passes (an inconclusive check neither passes nor fails)."""
        outcomes = [verdict.passes for verdict in self.verdicts]
        return False not in outcomes and True in outcomes

    def verdict(self) -> str:
        """Every check's verdict, one paragraph each."""
        texts = {"cascade": self.cascade.verdict}
        return "\n\n".join(texts.get(key, v.text) for key, v in zip(self.checks, self.verdicts, strict=True))

    def record(self) -> dict[str, Any]:
        """The cascade's record (its keys as before), the overall outcome, and every check's numbers and verdict."""
        record = self.cascade.record()
        record["cascade_passes"] = record["passes"]
        record["cascade_verdict"] = record["verdict"]
        records = {
            "cascade": {"check": record["check"], **self.cascade.judged.record(), "verdict": self.cascade.verdict},
            "smooth_mprt": self.smooth.record() if self.smooth else None,
            "efficient_mprt": self.efficient.record() if self.efficient else None,
            "random_logit": self.random_logit.record() if self.random_logit else None,
        }
        record["checks"] = {key: records[key] for key in self.checks}
        record["passes"] = self.passes
        record["verdict"] = self.verdict()
        return record


def sanity_report(
    model: LoadedModel,
    image: np.ndarray,
    method: str,
    params: str | dict[str, Any] | None = None,
    steps: Any = STEPS.default,
    seeds: Any = SEEDS.default,
    checks: Any = None,
    samples: Any = SAMPLES.fast,
    seed: int = 0,
    target: str | int | None = None,
    progress: ProgressFn | None = None,
    framing: str = DEFAULT_FRAMING,
) -> SanityReport:
    """Runs the chosen checks of ``method`` on ``model`` and ``image`` (see the module docstring), reproducibly:
    the same arguments and ``seed`` give the same numbers."""
    spec = get_method(method)
    framing = check_framing(framing)
    planned = plan(steps, seeds, checks, samples)
    one = estimate(model, method, report_params(spec, params, planned.total, machine_of(model)))
    counts = ", ".join(f"{CHECKS[key]} {count}" for key, count in planned.runs.items())
    check_work(
        planned.total * one.cost.evaluations,
        f"A sanity report of {spec.name} ({planned.total} runs: {counts})",
        "Use fewer steps, seeds or checks, or ask less of the method (the fast preset, fewer samples).",
    )
    if "smooth_mprt" in planned.checks and model.framework == KERAS:
        input_explainer(model, image, spec, one.params, 0, framing, 0)  # raises the Keras message
    counter = RunCounter(planned.total, progress)
    randomised: list[Explanation] = []
    smoothed: list[np.ndarray] = []
    state: dict[str, Any] = {}

    def smooth(loaded: LoadedModel, target_index: int, label: str) -> np.ndarray:
        explain_input, inputs = input_explainer(
            loaded, image, spec, one.params, target_index, framing, planned.samples * one.cost.evaluations
        )
        update = counter.step(f"Smooth MPRT, {label}", planned.samples)
        done = [0]

        def counted(noisy: Any) -> np.ndarray:
            done[0] += 1
            update(done[0] / planned.samples, f"noisy copy {done[0]} of {planned.samples}")
            return explain_input(noisy)

        # The same noise for every model (a fresh generator from ``seed``): only the weights differ between the
        # averaged maps, so a method that ignores them (the edge control) gives identical maps, as in the cascade.
        return smoothed_map(counted, inputs, planned.samples, np.random.RandomState(seed))

    def on_randomised(k: int, copy: LoadedModel, final: Explanation) -> None:
        randomised.append(final)
        if "smooth_mprt" in planned.checks:
            if "original" not in state:
                state["original"] = smooth(model, final.target, "trained model")
            smoothed.append(smooth(copy, final.target, f"randomised model {k + 1}"))

    cascade = cascading_randomisation(
        model,
        image,
        spec.key,
        target,
        one.params,
        planned.steps,
        seed,
        framing=framing,
        seeds=planned.seeds,
        on_randomised=on_randomised,
        counter=counter,
    )
    smooth_part = efficient_part = logit_part = None
    if "smooth_mprt" in planned.checks:
        smooth_part = smooth_result(spec.name, planned.samples, state["original"], smoothed)
    if "efficient_mprt" in planned.checks:
        efficient_part = efficient_result(spec.name, cascade.input_map, [r.input_map for r in randomised])
    if "random_logit" in planned.checks:
        classes = [other_class(cascade.target, model.n_classes, seed + k * SEED_STRIDE) for k in range(planned.seeds)]
        maps = [
            explain(model, image, spec.key, c, one.params, counter.step(f"random logit, class {c}"), framing=framing)
            for c in classes
        ]
        logit_part = RandomLogitResult(
            spec.name,
            cascade.target_label,
            tuple(classes),
            tuple(model.labels[c] for c in classes),
            Spread.of([logit_similarity(cascade.input_map, m.input_map) for m in maps]),
        )
    return SanityReport(planned.checks, cascade, smooth_part, efficient_part, logit_part)
