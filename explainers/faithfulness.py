"""Faithfulness of an attribution map: does the model's score follow what the map calls important?

* **Deletion** (Petsiuk et al., 2018): pixels are set to the baseline, most important first, in ``steps`` equal
  steps; the area under the target probability's curve. Lower is better.
* **Insertion**: the reverse path, from the baseline image back to the photo. Higher is better.
* **MuFidelity** (Bhatt et al., 2020): random subsets of a coarse grid are set to the baseline; the Spearman
  correlation between the drop in probability and the attribution the subset held. Higher is better.

The definitions follow ``xplique.metrics`` (Deletion, Insertion, MuFidelity) exactly: pixel order from the same
``argsort``, the same step counts, baseline 0 in the model's normalised input space (the dataset's mean colour),
softmax probability of the target, the mean-of-trapezoids area; tests check Deletion and Insertion against Xplique
to 1e-3. Ours batches every step of a curve through the model at once, channels-last, instead of one TensorFlow call
per step, and draws MuFidelity's masks from a seeded torch generator, so every method in a comparison is scored on
the same masks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

from explainers.limits import check_request

BASELINE = 0.0
SCORING_ADVICE = "Score fewer maps: choose fewer methods or models."


@dataclass(frozen=True)
class FaithfulnessSettings:
    steps: int = 20
    mufidelity_samples: int = 128
    grid_size: int = 9
    subset_percent: float = 0.2
    batch_size: int = 16
    """Batch 16: the batch ``explainers.throughput.measure`` times the model at, and the fastest here (FACTS: on this
    CPU throughput falls with larger batches)."""

    @property
    def evaluations(self) -> int:
        """Model evaluations per scored map: two curves of ``steps + 1`` points, the samples and their reference."""
        return 2 * (self.steps + 1) + self.mufidelity_samples + 1


@dataclass(frozen=True)
class Faithfulness:
    deletion: float
    insertion: float
    mufidelity: float
    deletion_curve: list[float]
    insertion_curve: list[float]

    def as_dict(self) -> dict[str, float | list[float]]:
        return {
            "deletion_auc": round(self.deletion, 5),
            "insertion_auc": round(self.insertion, 5),
            "mufidelity": round(self.mufidelity, 5),
            "deletion_curve": [round(v, 5) for v in self.deletion_curve],
            "insertion_curve": [round(v, 5) for v in self.insertion_curve],
        }


def target_probabilities(model: nn.Module, batch: torch.Tensor, target: int, batch_size: int) -> np.ndarray:
    """Softmax probability of ``target`` for every image of ``batch``, without gradients, in batches of at most
    ``batch_size`` split evenly (171 images at 16: eleven batches of 15-16, not ten of 16 and one of 11): a short last
    batch costs nearly a full one's time. Before each batch the running request may stop (its time is up, or its client
    left: ``limits.check_request``), as an explanation's batches do."""
    scores = []
    with torch.no_grad():
        for chunk in batch.tensor_split(max(1, math.ceil(len(batch) / batch_size))):
            check_request(f"{sum(len(s) for s in scores):,} of {len(batch):,} scoring evaluations", SCORING_ADVICE)
            logits = model(chunk.contiguous(memory_format=torch.channels_last))
            scores.append(torch.softmax(logits, dim=1)[:, target])
    return torch.cat(scores).numpy().astype(np.float64)


def causal_inputs(inputs: torch.Tensor, attribution: np.ndarray, mode: str, steps: int) -> torch.Tensor:
    """The ``steps + 1`` images of a deletion (or insertion) path, most important pixels first.

    ``inputs`` is the normalised 1x3xHxW input, ``attribution`` an HxW map at the same size.
    """
    height, width = attribution.shape
    order = np.argsort(attribution.reshape(-1), axis=-1)[::-1]
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    counts = np.linspace(0, order.size, steps + 1, dtype=np.int32)
    flipped = torch.from_numpy((rank[None, :] < counts[:, None]).reshape(steps + 1, 1, height, width))
    baseline = torch.full_like(inputs, BASELINE)
    start, end = (inputs, baseline) if mode == "deletion" else (baseline, inputs)
    return torch.where(flipped, end, start)


def area_under(curve: np.ndarray) -> float:
    """Mean of the trapezoids (the steps are evenly spaced), as ``xplique.metrics.CausalFidelity``."""
    return float(np.mean(curve[:-1] + curve[1:]) * 0.5)


def mu_fidelity_masks(
    settings: FaithfulnessSettings, shape: tuple[int, int], generator: torch.Generator
) -> torch.Tensor:
    """``mufidelity_samples`` keep-masks (1 kept, 0 set to the baseline): random subsets of a coarse grid, each cell
    removed with probability ``subset_percent``, upsampled to ``shape``."""
    samples, grid = settings.mufidelity_samples, settings.grid_size
    keep = (torch.rand(samples, 1, grid, grid, generator=generator) > settings.subset_percent).float()
    return F.interpolate(keep, size=shape, mode="nearest-exact")


def mu_fidelity_score(probabilities: np.ndarray, keep: torch.Tensor, attribution: np.ndarray) -> float:
    """Spearman correlation between the probability each subset removes (``probabilities[0]`` is the untouched
    input's, the rest the perturbed ones') and the attribution the subset held."""
    drops = probabilities[0] - probabilities[1:]
    removed = ((1.0 - keep[:, 0].numpy()) * attribution[None]).sum(axis=(1, 2))
    correlation = spearmanr(drops, removed)[0]
    return 0.0 if np.isnan(correlation) else float(correlation)


@dataclass(frozen=True)
class FaithfulnessInputs:
    """The images one map's scores need, in one batch (both curves, the untouched input, MuFidelity's samples), and
    MuFidelity's keep-masks to read the samples' scores with."""

    batch: torch.Tensor
    keep: torch.Tensor


def faithfulness_inputs(
    inputs: torch.Tensor,
    attribution: np.ndarray,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    seed: int = 0,
) -> FaithfulnessInputs:
    """What ``faithfulness`` sends through the model, exposed so a caller can stream it with other images."""
    attribution = np.asarray(attribution, dtype=np.float32)
    keep = mu_fidelity_masks(settings, attribution.shape, torch.Generator().manual_seed(seed))
    batch = torch.cat(
        [
            causal_inputs(inputs, attribution, "deletion", settings.steps),
            causal_inputs(inputs, attribution, "insertion", settings.steps),
            inputs,
            inputs * keep + (1.0 - keep) * BASELINE,
        ]
    )
    return FaithfulnessInputs(batch, keep)


def faithfulness_scores(
    probabilities: np.ndarray,
    perturbed: FaithfulnessInputs,
    attribution: np.ndarray,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
) -> Faithfulness:
    """The three scores from the target's probabilities on ``perturbed.batch``, in its order."""
    deletion, insertion, mufidelity = np.split(probabilities, [settings.steps + 1, 2 * (settings.steps + 1)])
    return Faithfulness(
        deletion=area_under(deletion),
        insertion=area_under(insertion),
        mufidelity=mu_fidelity_score(mufidelity, perturbed.keep, np.asarray(attribution, dtype=np.float32)),
        deletion_curve=deletion.tolist(),
        insertion_curve=insertion.tolist(),
    )


def faithfulness(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int,
    attribution: np.ndarray,
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    seed: int = 0,
) -> Faithfulness:
    """All three scores of one HxW map (at the model's input size) for ``target`` on the normalised ``inputs``.

    Every image the three scores need goes through the model in one stream of even batches, so scoring runs at the
    model's own batched throughput.
    """
    perturbed = faithfulness_inputs(inputs, attribution, settings, seed)
    probabilities = target_probabilities(model, perturbed.batch, target, settings.batch_size)
    return faithfulness_scores(probabilities, perturbed, attribution, settings)
