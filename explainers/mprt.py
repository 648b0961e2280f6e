"""Smooth MPRT and Efficient MPRT (Hedström et al., "Sanity Checks Revisited: An Exploration to Repair the Model
Parameter Randomisation Test", XAI in Action workshop, NeurIPS 2023), as Quantus 0.6 defines them
(``quantus.SmoothMPRT``, ``quantus.EfficientMPRT``); Quantus itself is only the tests' reference.

- **Smooth MPRT**: each map is averaged over ``N`` noisy copies of the input (``x + eps_n``, ``eps_n ~ N(0, s^2)``,
  ``s = 0.1 (max x - min x)`` over the normalised input, the last copy noise-free), then normalised by its root mean
  square (``a / sqrt(mean(a^2))``, Binder et al., 2022) and made absolute; the score is the Spearman rank
  correlation between the trained model's and the fully randomised model's averaged maps (lower is better). The
  averaging removes the shattered-gradient noise that makes plain MPRT reward noisy methods.
- **Efficient MPRT**: the relative rise in complexity, ``(H(a_random) - H(a_trained)) / H(a_trained)``, with ``H``
  the discrete entropy of a 100-bin histogram of the raw map (no abs, no normalisation): a map that explains the
  model should turn into noise (higher entropy) when the weights are destroyed (higher is better). One pair of
  maps, no similarity measure to choose.

Both compare the model-input-resolution maps (``Explanation.input_map``), as Quantus does, and use the cascade's
fully randomised copies (one per seed), so they add no randomisation of their own. Smooth MPRT's noise: the same
draws (from the report's seed) for the trained model and every randomised one, so only the weights differ between
the averaged maps (Quantus draws new noise for each; ``smoothed_map`` takes the generator, and the tests give it
Quantus' draws to compare the numbers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats
import torch

from explainers.base import Method, Param, ProgressFn
from explainers.counting import CountingModel
from explainers.explain import build_problem, seed_everything
from explainers.families import implementation
from explainers.sanity_stats import IDENTITY_TOLERANCE, Spread, Verdict, flat, pairwise, randomisation_verdict
from hub_models.errors import UserInputError
from hub_models.keras_models import KERAS
from hub_models.loaded_model import LoadedModel

SAMPLES = Param(
    "samples",
    int,
    default=50,
    fast=10,
    minimum=2,
    maximum=100,
    help="Smooth MPRT: noisy copies of the input averaged per map (Quantus and the paper: 50).",
)
NOISE_MAGNITUDE = 0.1
"""Smooth MPRT's noise: its standard deviation is this share of the normalised input's range (Quantus 0.6)."""
N_BINS = 100
"""Efficient MPRT's histogram (Quantus 0.6's ``discrete_entropy`` default, used when no bin rule is given)."""
SMOOTH_CHECK = "Smooth MPRT (Hedström et al., 2023)"
EFFICIENT_CHECK = "Efficient MPRT (Hedström et al., 2023)"


def rms_normalised(attribution: np.ndarray) -> np.ndarray:
    """|a / sqrt(mean(a^2))|: Quantus' ``normalise_by_average_second_moment_estimate`` then ``abs`` (a blank map stays
    blank)."""
    a = np.asarray(attribution, dtype=np.float64)
    moment = float(np.sqrt(np.mean(a**2)))
    return np.abs(a / moment) if moment > 0 else np.abs(a)


def smooth_similarity(original: np.ndarray, randomised: np.ndarray) -> float:
    """Smooth MPRT's score for one pair of averaged maps: Spearman of their ``rms_normalised`` values (a blank or
    ``flat`` map: 0, where Quantus gives NaN or ranks float32 rounding)."""
    if flat(original) or flat(randomised):
        return 0.0
    a, b = rms_normalised(original).ravel(), rms_normalised(randomised).ravel()
    return float(scipy.stats.spearmanr(a, b).statistic)


def smoothed_map(
    explain_input: Callable[[torch.Tensor], np.ndarray],
    inputs: torch.Tensor,
    samples: int,
    rng: np.random.RandomState,
    magnitude: float = NOISE_MAGNITUDE,
) -> np.ndarray:
    """The mean of ``explain_input`` over ``samples`` noisy copies of ``inputs`` (the last one noise-free), noise drawn
    from ``rng`` in Quantus' order (``rng.randn`` per copy, float64 noise added to the float32 input)."""
    clean = inputs.detach().numpy().astype(np.float32)
    spread = magnitude * float(clean.max() - clean.min())
    total: np.ndarray | None = None
    for index in range(samples):
        noise = np.zeros_like(clean, dtype=np.float64) if index == samples - 1 else rng.randn(*clean.shape) * spread
        attribution = explain_input(torch.from_numpy((clean + noise).astype(np.float32)))
        total = attribution / samples if total is None else total + attribution / samples
    assert total is not None
    return total


def discrete_entropy(attribution: np.ndarray, n_bins: int = N_BINS) -> float:
    """Shannon entropy (nats) of the ``n_bins``-bin histogram of the map's values (Quantus' ``discrete_entropy``); a
    ``flat`` map: 0 (where NumPy cannot cut its range into ``n_bins`` bins and Quantus raises)."""
    if flat(attribution):
        return 0.0
    histogram, _ = np.histogram(np.asarray(attribution, dtype=np.float64), bins=n_bins)
    return float(scipy.stats.entropy(histogram))


def efficient_score(original: np.ndarray, randomised: np.ndarray, n_bins: int = N_BINS) -> float:
    """Efficient MPRT's score: (H(randomised) - H(original)) / H(original) (higher: the map became noisier)."""
    before = discrete_entropy(original, n_bins)
    return (discrete_entropy(randomised, n_bins) - before) / before if before > 0 else 0.0


def input_explainer(
    model: LoadedModel,
    image: np.ndarray,
    spec: Method,
    values: dict[str, Any],
    target: int,
    framing: str,
    expected: int,
    progress: ProgressFn | None = None,
) -> tuple[Callable[[torch.Tensor], np.ndarray], torch.Tensor]:
    """``(explain_input, inputs)``: the method's map at the model's input size for any normalised input shaped like
    the image's (``inputs``), through the same implementation ``explain`` calls, counted against ``expected``
    evaluations. A noisy input's RGB pixels (what an RGB-reading method such as the edge control sees) are the input
    mapped back to [0, 1]."""
    if model.framework == KERAS:
        raise UserInputError(
            "Smooth MPRT adds noise to the model's normalised input, which only the PyTorch path takes; for a Keras "
            "model run the cascading randomisation, Efficient MPRT and random logit checks."
        )
    problem = build_problem(model, image, target, CountingModel(model.module, expected, progress), framing)
    mean = torch.tensor(model.preprocessing.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.preprocessing.std).view(1, 3, 1, 1)
    run = implementation(spec, model.module)

    def explain_input(inputs: torch.Tensor) -> np.ndarray:
        rgb = (inputs * std + mean).clamp(0, 1)[0].permute(1, 2, 0).numpy()
        if spec.stochastic:
            seed_everything(values["seed"], tensorflow=spec.backend == "xplique")
        raw = run(dataclasses.replace(problem, inputs=inputs, rgb=rgb), values)
        return np.nan_to_num(np.asarray(raw, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)

    return explain_input, problem.inputs


@dataclass(frozen=True)
class SmoothResult:
    """Smooth MPRT: the averaged maps' Spearman, trained against each seed's fully randomised model, and between
    the randomised models (the chance band)."""

    method: str
    samples: int
    original: Spread
    chance: Spread

    @property
    def judged(self) -> Verdict:
        return randomisation_verdict(
            SMOOTH_CHECK, self.method, self.original, self.chance, "Spearman of the noise-averaged maps"
        )

    def record(self) -> dict[str, Any]:
        return {
            "check": SMOOTH_CHECK,
            "samples": self.samples,
            "noise_magnitude": NOISE_MAGNITUDE,
            "score": "Spearman(|rms-normalised averaged map|, trained vs fully randomised); lower is better",
            "spearman": self.original.record(),
            "chance_band": self.chance.record(),
            **self.judged.record(),
        }


def smooth_result(method: str, samples: int, original: np.ndarray, randomised: list[np.ndarray]) -> SmoothResult:
    """Smooth MPRT's scores from the trained model's averaged map and each seed's randomised one."""
    return SmoothResult(
        method,
        samples,
        Spread.of([smooth_similarity(original, other) for other in randomised]),
        pairwise(randomised, smooth_similarity),
    )


@dataclass(frozen=True)
class EfficientResult:
    """Efficient MPRT: the relative complexity rise for each seed's fully randomised model."""

    method: str
    scores: Spread
    blank: int
    """How many randomised maps were blank or ``flat`` (entropy 0: Efficient MPRT scores them -1)."""

    @property
    def judged(self) -> Verdict:
        """Passes when the rise is detectable over seeds (mean - 2 sd > 0) and at least ``IDENTITY_TOLERANCE``;
        inconclusive when some randomised map is blank (the map vanished, which depends on the weights, yet has
        the lowest entropy there is); fails otherwise (the edge control: exactly 0)."""
        measured = f"relative entropy rise {self.scores.text()}"
        if self.blank:
            return Verdict(
                EFFICIENT_CHECK,
                None,
                f"Efficient MPRT cannot judge {self.method} here: {self.blank} of {len(self.scores.values)} fully "
                f"randomised maps are blank or flat ({measured}). Such a map has entropy 0, so the test reads a map "
                "that vanished as 'simpler'; the cascade and Smooth MPRT judge this case.",
            )
        if self.scores.mean - 2 * self.scores.sd > 0 and self.scores.mean >= IDENTITY_TOLERANCE:
            return Verdict(
                EFFICIENT_CHECK,
                True,
                f"{self.method} passes Efficient MPRT: its map becomes noisier when the weights are randomised "
                f"({measured}).",
            )
        return Verdict(
            EFFICIENT_CHECK,
            False,
            f"{self.method} FAILS Efficient MPRT: its map does not become detectably noisier when the weights are "
            f"randomised ({measured}; it must rise by {IDENTITY_TOLERANCE} or more, mean - 2 sd above 0).",
        )

    def record(self) -> dict[str, Any]:
        return {
            "check": EFFICIENT_CHECK,
            "n_bins": N_BINS,
            "score": "(H(randomised) - H(trained)) / H(trained), H = entropy of a 100-bin histogram; higher is better",
            "scores": self.scores.record(),
            "blank_randomised_maps": self.blank,
            **self.judged.record(),
        }


def efficient_result(method: str, original: np.ndarray, randomised: list[np.ndarray]) -> EfficientResult:
    """Efficient MPRT's scores from the trained model's raw map and each seed's randomised one."""
    return EfficientResult(
        method,
        Spread.of([efficient_score(original, other) for other in randomised]),
        sum(1 for other in randomised if flat(other)),
    )
