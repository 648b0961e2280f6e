"""ROAD: the same imputation and the same curves as pytorch-grad-cam's port of the authors' code, and hand cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pytorch_grad_cam.metrics.perturbation_confidence import (
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

from explainers.explain import resize_map
from explainers.road import (
    ROAD_SCORES,
    RoadSettings,
    imputation_seconds,
    impute,
    removal_masks,
    road,
    road_inputs,
)
from hub_models.errors import UserInputError

SIDE = 60
"""A side at which the reference's percentile threshold removes exactly floor(N p / 100) pixels, as ours does, for
p = 10, 20, ..., 90 on a map without ties (30, 40, 50, 60 and 70 do; 64 does not)."""
PAPER = RoadSettings(percentages=tuple(range(10, 100, 10)))
# pytorch-grad-cam calls np.percentile on a torch tensor (its code, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")


def _smooth_ranks(seed: int, side: int = SIDE) -> np.ndarray:
    """A coarse random map (7x7 upsampled, as methods' maps are) turned into distinct ranks in [0, 1): no ties, so
    the reference's thresholds and our ranking select the same pixels."""
    coarse = resize_map(np.random.default_rng(seed).random((7, 7)).astype(np.float32), (side, side)).reshape(-1)
    ranks = np.empty(coarse.size)
    ranks[np.argsort(coarse, kind="stable")] = np.arange(coarse.size)
    return (ranks / coarse.size).reshape(side, side).astype(np.float32)


@pytest.fixture(scope="module")
def small_cat(mobilenet, chelsea):
    """Chelsea through the embedded MobileNetV2's preprocessing, shrunk to SIDE pixels: a real model and photo,
    small enough for the reference's slow imputation."""
    inputs = F.interpolate(mobilenet.preprocessing.to_tensor(chelsea), size=(SIDE, SIDE), mode="area")
    with torch.no_grad():
        target = int(mobilenet.module(inputs).argmax())
    return inputs, target


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_imputation_equals_pytorch_grad_cam(small_cat, noise):
    inputs, _ = small_cat
    known = removal_masks(_smooth_ranks(1), (60,), "morf")[0]
    torch.manual_seed(7)
    theirs = NoisyLinearImputer(noise=noise)(inputs[0], torch.from_numpy(known.astype(np.float32)))
    ours = impute(inputs[0].numpy(), known, noise, torch.Generator().manual_seed(7))
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5)
    assert np.array_equal(ours[:, known], inputs[0].numpy()[:, known])  # kept pixels untouched
    assert np.abs(ours - inputs[0].numpy()).max() > 0.1  # and the removed ones really replaced


def test_curves_equal_pytorch_grad_cam_on_mobilenet(mobilenet, small_cat):
    """The paper's 9 percentages and noise: the reference's MoRF at percentile 100 - p removes the p % most relevant
    pixels (it keeps those below the threshold), its LeRF at 100 - p the p % least relevant; with the global torch
    seed set as ours seeds its generator, both draw the same noise in the same order."""
    inputs, target = small_cat
    cam = _smooth_ranks(2)
    ours = road(mobilenet.module, inputs, target, cam, PAPER, seed=3)
    torch.manual_seed(3)
    theirs = {}
    for name, removal in (("morf", RemoveMostRelevantFirst), ("lerf", RemoveLeastRelevantFirst)):
        theirs[name] = [
            float(
                PerturbationConfidenceMetric(removal(100 - p, NoisyLinearImputer(noise=PAPER.noise)))(
                    inputs, cam[None], [ClassifierOutputSoftmaxTarget(target)], mobilenet.module, return_diff=False
                )[0]
            )
            for p in PAPER.percentages
        ]
    np.testing.assert_allclose(ours.morf_curve, theirs["morf"], atol=2e-4)
    np.testing.assert_allclose(ours.lerf_curve, theirs["lerf"], atol=2e-4)
    assert ours.morf == pytest.approx(np.mean(theirs["morf"]), abs=1e-4)
    assert ours.combined == pytest.approx((np.mean(theirs["lerf"]) - np.mean(theirs["morf"])) / 2, abs=1e-4)
    assert max(ours.lerf_curve) - min(ours.morf_curve) > 0.1  # the curves moved: a real test of the ordering


def test_linear_imputation_by_hand():
    image = np.zeros((1, 3, 3), np.float32)
    image[0] = [[1, 2, 3], [4, 0, 6], [7, 8, 9]]
    known = np.ones((3, 3), bool)
    known[1, 1] = False
    edges, corners = (2 + 4 + 6 + 8) / 6, (1 + 3 + 7 + 9) / 12
    assert impute(image, known)[0, 1, 1] == pytest.approx(edges + corners)
    constant = np.full((3, 20, 30), 0.25, np.float32)
    holes = removal_masks(np.random.default_rng(0).random((20, 30)), (90,), "morf")[0]
    np.testing.assert_allclose(impute(constant, holes), constant, atol=1e-6)  # a constant image stays constant
    with pytest.raises(UserInputError, match="every pixel removed"):
        impute(constant, np.zeros((20, 30), bool))


def test_removal_counts_orders_and_ties():
    attribution = np.arange(20, dtype=float).reshape(4, 5)  # pixel 19 most relevant
    morf, lerf = (removal_masks(attribution, (10, 25, 50), order) for order in ("morf", "lerf"))
    assert [int((~m).sum()) for m in morf] == [2, 5, 10]  # floor(20 p / 100)
    assert not morf[0].reshape(-1)[18:].any() and morf[0].reshape(-1)[:18].all()
    assert not lerf[1].reshape(-1)[:5].any() and lerf[1].reshape(-1)[5:].all()
    flat = np.zeros((10, 10))
    first, again, other = (removal_masks(flat, (30,), "morf", seed)[0] for seed in (0, 0, 1))
    assert np.array_equal(first, again) and not np.array_equal(first, other)  # ties: a seeded random order
    assert first[:3].sum() < 30  # not raster order (which would remove the top three rows)


def test_settings_costs_and_scores_table():
    assert RoadSettings().evaluations == 10 and PAPER.evaluations == 18
    assert set(ROAD_SCORES) == {"road_morf", "road_lerf", "road_combined"}
    assert ROAD_SCORES["road_morf"][1] is False and ROAD_SCORES["road_lerf"][1] is True
    small, large = imputation_seconds((64, 64)), imputation_seconds((224, 224))
    assert 0 < small < large and large / small > (224 / 64) ** 2
    with pytest.raises(UserInputError, match="between 1 and 99"):
        RoadSettings(percentages=(0, 50))


def test_road_inputs_are_deterministic_and_checked(small_cat):
    inputs, _ = small_cat
    cam = _smooth_ranks(3)
    settings = RoadSettings(percentages=(20, 80))
    first, again = road_inputs(inputs, cam, settings, seed=5), road_inputs(inputs, cam, settings, seed=5)
    assert first.shape == (4, 3, SIDE, SIDE) and torch.equal(first, again)
    assert not torch.equal(first, road_inputs(inputs, cam, settings, seed=6))
    with pytest.raises(UserInputError, match=r"model's input size \(60, 60\), got \(30, 30\)"):
        road_inputs(inputs, cam[:30, :30], settings)
