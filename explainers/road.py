"""ROAD: RemOve And Debias (Rong, Leemann, Borisov, Kasneci, Kasneci, "A Consistent and Efficient Evaluation Strategy
for Attribution Methods", ICML 2022).

Deletion and Insertion replace pixels with a constant: the model then reacts to the hole's sharp edges, which leak
where the removed pixels were (the map's *shape*), so a scattered map is scored by artefacts. ROAD fills the removed
pixels by **noisy linear imputation** instead: each removed pixel becomes the weighted mean of its 8 neighbours
(weight 1/6 for the 4 edge neighbours, 1/12 for the 4 diagonal ones, re-normalised at the image border), solved jointly
for all removed pixels as one sparse linear system per channel, plus Gaussian noise of standard deviation ``noise``
(the paper's 0.01, in the model's normalised input units, where pytorch-grad-cam's port applies it too).

For each removal percentage ``p``: the ``p`` % of pixels ranked most relevant (**MoRF**) or least relevant (**LeRF**)
are imputed (``floor(N p / 100)`` pixels, as Quantus' ROAD counts them; ties in the map broken by a seeded random
order, so raster order never decides), and the model's softmax probability of the target is read. Scores:

* ``morf``: the mean of the MoRF curve over the percentages. Lower is better (removing what the map calls important
  should hurt).
* ``lerf``: the mean of the LeRF curve. Higher is better (removing the unimportant should not).
* ``combined``: ``(lerf - morf) / 2``, pytorch-grad-cam's ``ROADCombined``: one number, higher is better, in
  [-0.5, 0.5]; 0 is what a map unrelated to the model gets on average.

Equal to pytorch-grad-cam 1.5.7's port of the authors' code (``pytorch_grad_cam.metrics.road``) on a fixed example
(tests/test_road.py): the same imputation to 1e-5 (with and without noise under the same seed) and the same curves.
Ours builds the sparse system in one vectorised pass (no ``lil_matrix`` element assignment), orders the unknowns by
a geometric nested dissection of the pixel grid, factorises with SuperLU on diagonal pivots, solves the three channels
at once, factorises a map's systems on several threads (SuperLU releases the GIL), and scores every image of both
curves through the model in batches, as ``explainers.faithfulness`` does. Measured costs:
docs/localisation-and-road.md.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import splu
from torch import nn

from explainers.faithfulness import target_probabilities
from hub_models.errors import UserInputError

NEIGHBOURS: tuple[tuple[int, int, float], ...] = (
    (1, 1, 1 / 12),
    (0, 1, 1 / 6),
    (-1, 1, 1 / 12),
    (1, -1, 1 / 12),
    (0, -1, 1 / 6),
    (-1, -1, 1 / 12),
    (1, 0, 1 / 6),
    (-1, 0, 1 / 6),
)
"""(row offset, column offset, weight) of the 8 neighbours in the imputation, as in the authors' code."""
WORKERS = min(4, os.cpu_count() or 1)
"""Threads that factorise a map's imputation systems at once (SuperLU releases the GIL)."""

ROAD_SCORES: dict[str, tuple[str, bool]] = {
    "road_morf": ("ROAD MoRF", False),
    "road_lerf": ("ROAD LeRF", True),
    "road_combined": ("ROAD (LeRF - MoRF) / 2", True),
}
"""Each score's key -> (label, higher is better)."""


@dataclass(frozen=True)
class RoadSettings:
    """``percentages``: the removal percentages of each curve. The paper uses 10, 20, ..., 90; the default takes every
    other one (10, 30, 50, 70, 90): half the imputations (the bulk of ROAD's cost, docs/localisation-and-road.md),
    and the means over them differed from the 9-point means by 0.006-0.025 on the benchmark's maps (Grad-CAM and
    Integrated Gradients on "chelsea", MobileNetV2), well inside the spread between methods.
    ``noise``: the imputation noise's standard deviation in normalised input units (the paper's 0.01)."""

    percentages: tuple[int, ...] = (10, 30, 50, 70, 90)
    noise: float = 0.01
    batch_size: int = 16

    def __post_init__(self) -> None:
        if not self.percentages or not all(0 < p < 100 for p in self.percentages):
            raise UserInputError(f"ROAD's removal percentages must lie between 1 and 99, got {self.percentages}.")
        if not self.noise >= 0:
            raise UserInputError(f"ROAD's imputation noise must be 0 or more, got {self.noise}.")

    @property
    def evaluations(self) -> int:
        """Model evaluations per scored map: one image per percentage and order."""
        return 2 * len(self.percentages)


@dataclass(frozen=True)
class Road:
    morf: float
    lerf: float
    morf_curve: list[float]
    lerf_curve: list[float]
    percentages: list[int] = field(default_factory=list)

    @property
    def combined(self) -> float:
        """``(lerf - morf) / 2`` (pytorch-grad-cam's ROADCombined): higher is better."""
        return (self.lerf - self.morf) / 2

    def as_dict(self) -> dict[str, float | list[float] | list[int]]:
        return {
            "road_morf": round(self.morf, 5),
            "road_lerf": round(self.lerf, 5),
            "road_combined": round(self.combined, 5),
            "road_percentages": list(self.percentages),
            "road_morf_curve": [round(v, 5) for v in self.morf_curve],
            "road_lerf_curve": [round(v, 5) for v in self.lerf_curve],
        }


def imputation_system(known: np.ndarray) -> tuple[sp.csc_matrix, sp.csr_matrix, np.ndarray]:
    """The linear system of the removed pixels of an HxW ``known`` mask (True = kept).

    For each removed pixel ``i`` with in-image neighbours ``j`` of weights ``w_ij``:
    ``(sum_j w_ij) x_i - sum_{j removed} w_ij x_j = sum_{j kept} w_ij v_j``. Returns the matrix ``L`` (removed x
    removed, symmetric positive definite when any pixel is kept), the matrix ``B`` (removed x all pixels) with
    ``rhs = B @ v`` for a flat channel ``v``, and the removed pixels' flat indices.
    """
    height, width = known.shape
    flat_known = known.reshape(-1)
    missing = np.flatnonzero(~flat_known)
    count = missing.size
    variable = np.full(flat_known.size, -1, dtype=np.int64)
    variable[missing] = np.arange(count)
    rows, cols = np.divmod(missing, width)
    diagonal = np.zeros(count)
    coupling_i, coupling_j, coupling_w = [], [], []
    data_i, data_j, data_w = [], [], []
    for dy, dx, weight in NEIGHBOURS:
        r, c = rows + dy, cols + dx
        valid = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        ids = np.flatnonzero(valid)
        neighbour = r[valid] * width + c[valid]
        diagonal[ids] += weight
        kept = flat_known[neighbour]
        data_i.append(ids[kept])
        data_j.append(neighbour[kept])
        coupling_i.append(ids[~kept])
        coupling_j.append(variable[neighbour[~kept]])
        data_w.append(np.full(int(kept.sum()), weight))
        coupling_w.append(np.full(int((~kept).sum()), -weight))
    matrix = sp.csc_matrix(
        (
            np.concatenate([diagonal, *coupling_w]),
            (np.concatenate([np.arange(count), *coupling_i]), np.concatenate([np.arange(count), *coupling_j])),
        ),
        shape=(count, count),
    )
    data = sp.csr_matrix(
        (np.concatenate(data_w), (np.concatenate(data_i), np.concatenate(data_j))), shape=(count, flat_known.size)
    )
    return matrix, data, missing


LEAF = 64
"""Rectangles of at most this many pixels end the nested dissection (ordered row by row)."""


@functools.lru_cache(maxsize=8)
def dissection_rank(shape: tuple[int, int]) -> np.ndarray:
    """Each pixel's position in a geometric nested-dissection order of an HxW grid (George, 1973): a rectangle is
    split across its longer side by one line of pixels (which separates the halves for an 8-neighbour stencil), both
    halves are ordered first, recursively, and the separator last. Eliminating the unknowns in this order keeps the
    factorisation's fill-in at O(n log n) on a grid; restricted to the removed pixels it is still a dissection
    order of their system. Measured at 224 x 224: 1.3-1.6x faster than SuperLU's own minimum-degree ordering on
    70-90 % removal (docs/localisation-and-road.md)."""
    height, width = shape
    grid = np.arange(height * width).reshape(height, width)
    pieces: list[np.ndarray] = []

    def order(r0: int, r1: int, c0: int, c1: int) -> None:
        if (r1 - r0) * (c1 - c0) <= LEAF:
            pieces.append(grid[r0:r1, c0:c1].reshape(-1))
        elif r1 - r0 >= c1 - c0:
            middle = (r0 + r1) // 2
            order(r0, middle, c0, c1)
            order(middle + 1, r1, c0, c1)
            pieces.append(grid[middle, c0:c1])
        else:
            middle = (c0 + c1) // 2
            order(r0, r1, c0, middle)
            order(r0, r1, middle + 1, c1)
            pieces.append(grid[r0:r1, middle])

    order(0, height, 0, width)
    rank = np.empty(height * width, dtype=np.int64)
    rank[np.concatenate(pieces)] = np.arange(height * width)
    return rank


def linear_fill(image: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The removed pixels' flat indices and their noiseless linear imputation, (removed x C) float64.

    The system is permuted into ``dissection_rank``'s order and factorised by SuperLU with no further column
    ordering and diagonal pivots (the matrix is diagonally dominant), then solved for all channels at once.
    Releases the GIL while it factorises: ``road`` runs the images of a curve on several threads."""
    matrix, data, missing = imputation_system(known)
    flat = image.reshape(image.shape[0], -1).astype(np.float64)
    rhs = np.asarray(data @ flat.T)
    permutation = np.argsort(dissection_rank(known.shape)[missing])
    factor = splu(
        matrix[permutation][:, permutation].tocsc(),
        permc_spec="NATURAL",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    solution = np.empty_like(rhs)
    solution[permutation] = factor.solve(rhs[permutation])
    return missing, solution


def _filled(
    image: np.ndarray, missing: np.ndarray, solution: np.ndarray, noise: float, generator: torch.Generator | None
) -> np.ndarray:
    """``image`` with ``solution`` at the ``missing`` pixels plus ``noise * N(0, 1)``, drawn from ``generator`` as a
    (C x removed) array: the order pytorch-grad-cam's ``randn_like`` draws it in (the same seed, the same image)."""
    filled = image.reshape(image.shape[0], -1).copy()
    values = torch.from_numpy(solution.T.astype(np.float32))
    if noise > 0 and missing.size:
        values = values + noise * torch.randn(values.shape, generator=generator)
    filled[:, missing] = values.numpy().astype(filled.dtype)
    return filled.reshape(image.shape)


def _checked_known(known: np.ndarray) -> np.ndarray:
    known = np.asarray(known, dtype=bool)
    if not known.any():
        raise UserInputError("ROAD cannot impute an image with every pixel removed: keep at least one pixel.")
    return known


def impute(
    image: np.ndarray, known: np.ndarray, noise: float = 0.0, generator: torch.Generator | None = None
) -> np.ndarray:
    """Noisy linear imputation of a CxHxW ``image``'s pixels where ``known`` (HxW, bool) is False."""
    image = np.asarray(image)
    missing, solution = linear_fill(image, _checked_known(known))
    return _filled(image, missing, solution, noise, generator)


def impute_all(
    image: np.ndarray, masks: np.ndarray, noise: float = 0.0, generator: torch.Generator | None = None
) -> np.ndarray:
    """``impute`` for each of the (N, H, W) ``masks``: the systems solved on ``WORKERS`` threads, the noise drawn
    afterwards in the masks' order, so the result does not depend on which thread finished first."""
    image = np.asarray(image)
    known = [_checked_known(mask) for mask in masks]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(known))) as pool:
        fills = list(pool.map(lambda mask: linear_fill(image, mask), known))
    return np.stack([_filled(image, missing, solution, noise, generator) for missing, solution in fills])


def removal_order(attribution: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices, most relevant first; equal values in a seeded random order."""
    values = np.asarray(attribution, dtype=np.float64).reshape(-1)
    tiebreak = np.random.default_rng(seed).permutation(values.size)
    return np.lexsort((tiebreak, -values))


def removal_masks(attribution: np.ndarray, percentages: tuple[int, ...], order: str, seed: int = 0) -> np.ndarray:
    """(P, H, W) bool: True where a pixel is *kept* after removing ``floor(N p / 100)`` pixels, ``order`` ``"morf"``
    (most relevant first) or ``"lerf"`` (least relevant first)."""
    ranked = removal_order(attribution, seed)
    if order == "lerf":
        ranked = ranked[::-1]
    rank = np.empty_like(ranked)
    rank[ranked] = np.arange(ranked.size)
    counts = np.array([ranked.size * p // 100 for p in percentages])
    return (rank[None, :] >= counts[:, None]).reshape(len(percentages), *np.shape(attribution))


def road_inputs(
    inputs: torch.Tensor, attribution: np.ndarray, settings: RoadSettings = RoadSettings(), seed: int = 0
) -> torch.Tensor:
    """The ``settings.evaluations`` imputed images of one map, (2P)x3xHxW: the MoRF images, each percentage in turn,
    then the LeRF ones, all drawing noise from one generator seeded ``seed`` (which also orders tied pixels).
    What ``road`` scores; exposed so that a caller can stream them through the model with other images."""
    attribution = np.asarray(attribution, dtype=np.float64)
    if attribution.shape != tuple(inputs.shape[-2:]):
        raise UserInputError(
            f"ROAD needs the map at the model's input size {tuple(inputs.shape[-2:])}, got {attribution.shape}."
        )
    image = inputs[0].detach().cpu().numpy()
    masks = [removal_masks(attribution, settings.percentages, order, seed) for order in ("morf", "lerf")]
    generator = torch.Generator().manual_seed(seed)
    return torch.from_numpy(impute_all(image, np.concatenate(masks), settings.noise, generator)).to(inputs.dtype)


def road_scores(probabilities: np.ndarray, settings: RoadSettings = RoadSettings()) -> Road:
    """The scores from the target's probabilities on ``road_inputs``' images, in their order."""
    count = len(settings.percentages)
    morf, lerf = np.asarray(probabilities[:count], float), np.asarray(probabilities[count : 2 * count], float)
    return Road(
        morf=float(morf.mean()),
        lerf=float(lerf.mean()),
        morf_curve=morf.tolist(),
        lerf_curve=lerf.tolist(),
        percentages=list(settings.percentages),
    )


def road(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int,
    attribution: np.ndarray,
    settings: RoadSettings = RoadSettings(),
    seed: int = 0,
) -> Road:
    """ROAD's MoRF and LeRF curves of an HxW ``attribution`` (at the model's input size) for ``target`` on the
    normalised 1x3xHxW ``inputs``, the imputed images scored in batches of ``settings.batch_size``."""
    batch = road_inputs(inputs, attribution, settings, seed)
    return road_scores(target_probabilities(model, batch, target, settings.batch_size), settings)


REFERENCE_SIDE = 96
"""The side of the square image ``imputation_seconds`` times once per process (a few tens of milliseconds)."""
SCALING = 1.2
"""Imputation time grows as (pixels) ** SCALING: the sparse factorisation's fill-in on a 2-D grid (nested dissection:
n log n fill, n^1.5 work in theory); benchmarks/bench_road.py measured exponents of 1.1-1.5 between 96 and 224 pixels
a side on a loaded 2-core machine."""
_timed: dict[RoadSettings, float] = {}
_timing_lock = threading.Lock()


def imputation_seconds(shape: tuple[int, int], settings: RoadSettings = RoadSettings()) -> float:
    """Predicted CPU seconds of the imputations of one scored map at ``shape`` (the model's input size): all
    percentages of both orders imputed once on a ``REFERENCE_SIDE`` square (timed once per process and settings),
    scaled by the pixel ratio to the power ``SCALING``."""
    with _timing_lock:
        if settings not in _timed:
            side = REFERENCE_SIDE
            image = np.random.default_rng(0).standard_normal((3, side, side)).astype(np.float32)
            attribution = np.random.default_rng(1).random((side, side))
            masks = np.concatenate([removal_masks(attribution, settings.percentages, o) for o in ("morf", "lerf")])
            start = time.perf_counter()
            impute_all(image, masks, settings.noise, torch.Generator().manual_seed(0))
            _timed[settings] = time.perf_counter() - start
        reference = _timed[settings]
    return reference * (shape[0] * shape[1] / REFERENCE_SIDE**2) ** SCALING
