"""What the sanity checks share: a spread over randomisation seeds, the chance band, and the verdict rules.

One randomisation seed gives one number, and two smooth maps of unrelated models can agree by chance (a CAM map is an
upsampled 7x7 grid); so every check repeats its randomisation with several seeds and reports mean ± sd, and the
model-randomisation checks compare the trained model's map against a **chance band** measured on the same image: the
similarities between the maps of independently, fully randomised models (Adebayo et al., 2018 ask whether
randomising the weights destroys the map; the band says how much two maps of *unrelated* weights share anyway, from
the image and the architecture alone).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explainers.base import Param, ProgressFn

SEEDS = Param(
    "seeds",
    int,
    default=3,
    fast=3,
    minimum=2,
    maximum=8,
    help="Independent randomisations of the model; two or more give a spread and a chance band.",
)
SEED_STRIDE = 1000
"""Randomisation ``k`` of a check with seed ``s`` draws its weights from seed ``s + k * SEED_STRIDE (+ step)``."""
IDENTITY_TOLERANCE = 0.05
"""A similarity of ``1 - IDENTITY_TOLERANCE`` or more (mean + 2 standard errors over seeds) counts as "the same
map": not *detectably* different from the one it is compared with. The edge-detector control scores exactly 1."""


FLAT_TOLERANCE = 1e-6
"""A map whose values span less than this share of its largest magnitude counts as flat (``flat``)."""


def flat(attribution: np.ndarray) -> bool:
    """True for a map with no structure left: blank, or one value up to float32 rounding (a randomised RISE map can
    be a constant to seven digits). Its histogram has one bin, entropy 0."""
    a = np.asarray(attribution, dtype=np.float64)
    span = float(a.max() - a.min()) if a.size else 0.0
    return span <= FLAT_TOLERANCE * max(float(np.abs(a).max()) if a.size else 0.0, np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class Spread:
    """Values over seeds (or over pairs of seeds): their mean and sample standard deviation."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(tuple(float(v) for v in values))

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    @property
    def low(self) -> float:
        return float(min(self.values))

    @property
    def high(self) -> float:
        return float(max(self.values))

    def text(self, what: str = "seeds") -> str:
        """'0.12 ± 0.05 over 3 seeds'."""
        return f"{self.mean:.2f} ± {self.sd:.2f} over {len(self.values)} {what}"

    def band(self) -> str:
        """'0.05-0.31' (the lowest and the highest value)."""
        return f"{self.low:.2f} to {self.high:.2f}"

    def record(self) -> dict[str, Any]:
        return {
            "mean": round(self.mean, 4),
            "sd": round(self.sd, 4),
            "values": [round(v, 4) for v in self.values],
        }


def pairwise(maps: Sequence[np.ndarray], measure: Callable[[np.ndarray, np.ndarray], float]) -> Spread:
    """``measure`` over every pair of ``maps`` (n maps, n(n-1)/2 pairs): the chance band's values."""
    return Spread.of([measure(a, b) for a, b in itertools.combinations(maps, 2)])


def not_below_identity(spread: Spread) -> bool:
    """True when ``spread`` is not detectably below 1: its mean plus two standard errors (2 sd / sqrt(n)) reaches
    ``1 - IDENTITY_TOLERANCE``."""
    return spread.mean + 2 * spread.sd / np.sqrt(len(spread.values)) >= 1 - IDENTITY_TOLERANCE


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: passes (True), fails (False) or cannot tell (None), and why, in words."""

    check: str
    passes: bool | None
    text: str

    @property
    def word(self) -> str:
        return {True: "passes", False: "FAILS", None: "inconclusive"}[self.passes]

    def record(self) -> dict[str, Any]:
        return {"check": self.check, "passes": self.passes, "outcome": self.word, "verdict": self.text}


def randomisation_verdict(check: str, method: str, original: Spread, chance: Spread, measure: str) -> Verdict:
    """The verdict of a model-randomisation check from the similarity of the trained model's map to the fully
    randomised models' maps (``original``, one value per seed) and the chance band (``chance``, the same similarity
    between the randomised models' maps, one value per pair of seeds).

    Rule (lower similarity = the map depends on the weights):

    1. **Fails if not detectably below identity** (``not_below_identity(original)``: mean + 2 se >= 0.95):
       randomising every weight left the map as it was (the edge-detector control: 1.0 for every seed, band 1.0).
    2. **Fails if detectably above the chance band** (mean - 2 se > the band's highest value): the trained map is
       more like the randomised models' maps than those are like each other, so something of the trained map survived
       the randomisation beyond what any two weight draws share.
    3. **Passes otherwise**: the trained map is no more like a randomised model's map than two randomised models'
       maps are like each other; what similarity remains is what the image and the architecture give every model.
    """
    measured = (
        f"{measure} between the trained model's map and the fully randomised models' maps: {original.text()}; "
        f"chance band (the randomised models' maps against each other): {chance.band()} "
        f"({chance.text('pairs')})"
    )
    if not_below_identity(original):
        return Verdict(
            check,
            False,
            f"{method} FAILS: its map stays the same when every weight is randomised ({measured}). It shows the "
            "image, not what the model learned.",
        )
    if original.mean - 2 * original.sd / np.sqrt(len(original.values)) > chance.high:
        return Verdict(
            check,
            False,
            f"{method} FAILS: its map keeps more of itself after randomisation than two randomised models' maps share "
            f"by chance ({measured}; mean - 2 standard errors is above the band).",
        )
    shared = (
        " The randomised maps agree with each other well above 0: part of this method's map on this image comes "
        "from the image and the architecture, whatever the weights."
        if chance.mean >= 0.5
        else ""
    )
    return Verdict(
        check,
        True,
        f"{method} passes: randomising the weights destroys its map down to chance level ({measured}).{shared}",
    )


class RunCounter:
    """Progress over a report's explanations: ``step(text)`` gives the ``ProgressFn`` of the next run of ``total``."""

    def __init__(self, total: int, progress: ProgressFn | None) -> None:
        self.total, self.done, self.progress = max(total, 1), 0, progress

    def step(self, text: str, runs: int = 1) -> ProgressFn:
        """The progress function of the next ``runs`` runs (its fraction spans all of them)."""
        start = self.done
        self.done += runs

        def update(fraction: float, detail: str) -> None:
            if self.progress is not None:
                self.progress(min(1.0, (start + fraction * runs) / self.total), f"{text}: {detail}")

        update(0.0, "starting")
        return update
