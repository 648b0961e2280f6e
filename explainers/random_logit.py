"""The random-logit test (Sixt, Granz and Landgraf, "When Explanations Lie: Why Many Modified BP Attributions Fail",
ICML 2020; Quantus 0.6 ``RandomLogit``, Xplique's equivalent): the map for the model's top class against the map
for a random other class.

An explanation of the model's decision for a class must change with the class; a method whose map is the same for
every class (many modified back-propagation rules, the edge control) shows the input, not the class. Quantus'
score: both maps divided by their largest magnitude (``normalise_by_max``, no abs), flattened, compared by SSIM
(``skimage.metrics.structural_similarity`` over the 1-D vectors, data range = the pair's range); lower is better.
The other class is drawn as Quantus does: ``np.random.seed(s); randint(0, n_classes - 1)`` indexes the classes
without the top one. One draw per seed (``s = seed + k * SEED_STRIDE``) gives a spread over classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from skimage.metrics import structural_similarity

from explainers.sanity_stats import IDENTITY_TOLERANCE, Spread, Verdict, not_below_identity

CHECK = "random logit (Sixt et al., 2020)"


def other_class(target: int, n_classes: int, seed: int) -> int:
    """The random other class for ``seed``: Quantus' draw (``np.random.seed(seed)``, then
    ``randint(0, n_classes - 1)`` into the classes without ``target``), from a private generator."""
    index = int(np.random.RandomState(seed).randint(0, n_classes - 1, 1)[0])
    return index if index < target else index + 1


def max_normalised(attribution: np.ndarray) -> np.ndarray:
    """a / max |a| (a blank map stays blank): Quantus' ``normalise_by_max``."""
    a = np.asarray(attribution, dtype=np.float64)
    peak = float(np.abs(a).max())
    return a / peak if peak > 0 else a


def logit_similarity(top: np.ndarray, other: np.ndarray) -> float:
    """Quantus' ``ssim`` of the two ``max_normalised`` maps, flattened."""
    a, b = max_normalised(top).ravel(), max_normalised(other).ravel()
    both = np.concatenate([a, b])
    span = float(np.abs(both.max() - both.min()))
    if span == 0:
        return 1.0
    return float(structural_similarity(a, b, data_range=span))


@dataclass(frozen=True)
class RandomLogitResult:
    """The similarity of the top class's map to each drawn class's map."""

    method: str
    target_label: str
    classes: tuple[int, ...]
    labels: tuple[str, ...]
    ssim: Spread

    @property
    def judged(self) -> Verdict:
        """Fails when the maps for other classes are not detectably different from the top class's map
        (``not_below_identity``: mean + 2 standard errors over the drawn classes reaches ``1 - IDENTITY_TOLERANCE``):
        the map does not depend on the class asked about. Passes otherwise."""
        measured = (
            f"SSIM between the map for {self.target_label!r} and the maps for {len(self.classes)} random other "
            f"classes ({', '.join(repr(label) for label in self.labels)}): {self.ssim.text('classes')}"
        )
        if not_below_identity(self.ssim):
            return Verdict(
                CHECK,
                False,
                f"{self.method} FAILS the random-logit test: its map is the same whichever class it explains "
                f"({measured}; {1 - IDENTITY_TOLERANCE:.2f} or more counts as the same map).",
            )
        return Verdict(
            CHECK,
            True,
            f"{self.method} passes the random-logit test: its map changes with the class it explains ({measured}).",
        )

    def record(self) -> dict[str, Any]:
        return {
            "check": CHECK,
            "score": "SSIM of the max-normalised, flattened maps (top class vs a random other class); lower is better",
            "other_classes": [{"index": c, "label": label} for c, label in zip(self.classes, self.labels, strict=True)],
            "ssim": self.ssim.record(),
            **self.judged.record(),
        }
