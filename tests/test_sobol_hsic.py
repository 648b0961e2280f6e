"""Sobol and HSIC attribution, Xplique's own black-box methods, on PyTorch models (through Xplique's TorchWrapper) and
on Keras models: the map finds the region a model looks at, the cost model counts the images Xplique sends, the seed
decides the map, progress and cancellation go through the request's counter."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from explainers import METHODS, explain, validate_params
from explainers.limits import RequestStopped, request_limits
from explainers.presets import Machine, preset_values
from explainers.throughput import Throughput
from hub_models import LoadedModel, Preprocessing, UserInputError

TINY = {"sobol": {"grid_size": 4, "nb_design": 8}, "hsic": {"grid_size": 4, "nb_design": 64}}
"""Small settings: 144 and 64 model evaluations of a 32x32 input."""
KEYS = list(TINY)


class LooksAtTopRight(nn.Module):
    """Class 0's logit is the mean brightness of the image's top-right quadrant (normalised pixels), class 1's its
    opposite; class 2 is constant. Nothing else of the image matters. No convolution: Xplique's TorchWrapper, given
    such a model itself, would feed it NHWC batches as NCHW (``explainers.sensitivity.ChannelsLastInputs``)."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        height, width = inputs.shape[-2:]
        region = inputs.mean(dim=1)[:, : height // 2, width // 2 :].mean(dim=(1, 2))
        return torch.stack([region, -region, torch.zeros_like(region)], dim=1)


@pytest.fixture(scope="module")
def top_right() -> LoadedModel:
    return LoadedModel("top-right", LooksAtTopRight().eval(), Preprocessing(input_size=(32, 32)), ["a", "b", "c"])


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """32x32 bright noise: every pixel is above the mean colour, so masking any of them changes a sum."""
    return np.random.default_rng(0).integers(128, 256, size=(32, 32, 3), dtype=np.uint8)


def input_map(model: LoadedModel, image: np.ndarray, key: str, **params) -> np.ndarray:
    return explain(model, image, key, target=0, params={**TINY[key], **params}, record_timing=False).input_map


@pytest.mark.parametrize("key", KEYS)
def test_the_map_lies_on_the_only_region_the_model_looks_at(key, top_right, photo):
    importance = input_map(top_right, photo, key, seed=3)
    assert importance.shape == (32, 32)
    inside = np.zeros((32, 32), dtype=bool)
    inside[:16, 16:] = True
    row, column = np.unravel_index(np.argmax(importance), importance.shape)
    assert inside[row, column], f"peak at {(row, column)}, outside the top-right quadrant"
    # Bicubic smoothing of the 4x4 cells spills a little over the quadrant's edges; the rest is estimator noise.
    assert importance[inside].mean() > 5 * np.abs(importance[~inside]).mean()
    # The measure can fail: the same map on the transposed image (a swapped height and width) is rejected.
    assert not inside[np.unravel_index(np.argmax(importance.T), importance.shape)]


@pytest.mark.parametrize(
    ("key", "params"),
    [
        ("sobol", {}),
        ("sobol", {"grid_size": 3, "nb_design": 2, "sampler": "halton", "perturbation_function": "blurring"}),
        ("sobol", {"grid_size": 5, "nb_design": 4, "sampler": "latin hypercube", "perturbation_function": "amplitude"}),
        ("hsic", {}),
        ("hsic", {"grid_size": 6, "nb_design": 37, "sampler": "scrambled sobol", "perturbation_function": "blurring"}),
        ("hsic", {"grid_size": 3, "nb_design": 20, "sampler": "halton", "perturbation_function": "amplitude"}),
    ],
)
def test_the_cost_model_counts_every_image_xplique_sends_and_progress_follows_it(key, params, top_right, photo):
    images: list[int] = []
    channels_last: list[bool] = []

    def seen(_module, args, _output) -> None:
        images.append(int(args[0].shape[0]))
        channels_last.append(args[0].is_contiguous(memory_format=torch.channels_last))

    hook = top_right.module.register_forward_hook(seen)
    reports: list[float] = []
    try:
        values = validate_params(METHODS[key], {**TINY[key], **params})
        result = explain(  # record_timing=False: no throughput measurement (model runs of its own)
            top_right,
            photo,
            key,
            target=0,
            params=values,
            progress=lambda done, _: reports.append(done),
            record_timing=False,
        )
    finally:
        hook.remove()
    predicted = METHODS[key].cost(values, (32, 32)).evaluations
    expected = values["nb_design"] * (values["grid_size"] ** 2 + 2) if key == "sobol" else values["nb_design"]
    assert predicted == expected
    assert sum(images) == result.evaluations == predicted, "the model saw exactly what the cost model predicts"
    assert max(images) <= 16, "in batches of the problem's batch size"
    assert all(channels_last), "the model gets the wrapper's NHWC batch as NCHW, a channels-last view"
    assert len(reports) == len(images) and reports == sorted(reports) and reports[-1] == 1.0, "one report a batch"
    assert np.isfinite(result.attribution).all()


@pytest.mark.parametrize("key", KEYS)
def test_the_seed_decides_the_map(key, top_right, photo):
    first = input_map(top_right, photo, key, seed=7)
    other = input_map(top_right, photo, key, seed=8)
    again = input_map(top_right, photo, key, seed=7)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0.01 * (first.max() - first.min()), "another seed, other masks"


@pytest.mark.parametrize("key", KEYS)
def test_the_fixed_sequences_ignore_the_seed(key, top_right, photo):
    """Xplique's own default sampler, the unscrambled Sobol' sequence, draws no random numbers (as the help says)."""
    maps = [input_map(top_right, photo, key, sampler="sobol", seed=seed) for seed in (1, 2)]
    np.testing.assert_array_equal(*maps)


@pytest.mark.parametrize("key", KEYS)
def test_a_cancelled_run_stops_at_its_next_model_batch(key, top_right, photo):
    batches: list[int] = []
    gone = threading.Event()

    def progress(_done: float, _message: str) -> None:
        batches.append(1)
        if len(batches) == 2:
            gone.set()  # the client leaves after the second batch

    params = {**TINY[key], "nb_design": 16 if key == "sobol" else 256}
    with pytest.raises(RequestStopped, match=r"cancelled after 32 of about [\d,]+ model"), request_limits(gone.is_set):
        explain(top_right, photo, key, target=0, params=params, progress=progress, record_timing=False)
    assert len(batches) == 2


def test_the_closed_form_hsic_estimator_equals_xpliques():
    from explainers.hsic import closed_form_estimator
    from explainers.runtime import import_xplique

    xplique = import_xplique()
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 2, size=(300, 5, 5, 1)).astype(np.float32)
    scores = (masks[:, 1, 3, 0] * 2 + masks[:, 4, 0, 0] * masks[:, 2, 2, 0] + rng.normal(size=300) * 0.3 + 1.0).astype(
        np.float32
    )
    ours = closed_form_estimator(xplique)(output_kernel="rbf")(masks, scores, 300).numpy()
    theirs = xplique.attributions.global_sensitivity_analysis.BinaryEstimator("rbf")(masks, scores, 300).numpy()
    assert ours.shape == theirs.shape == (5, 5, 1)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5 * np.abs(theirs).max())
    assert np.argmax(ours.ravel()) == 1 * 5 + 3, "the cell the score depends on most"


def test_sobol_designs_are_powers_of_two_and_the_presets_size_to_one(monkeypatch):
    sobol = METHODS["sobol"]
    with pytest.raises(UserInputError, match=r"'nb_design' must be a power of two \(such as 32 or 64\); got 48"):
        validate_params(sobol, {"nb_design": 48})
    assert validate_params(sobol, {"nb_design": 64})["nb_design"] == 64
    monkeypatch.setenv("XAI_PRESETS", "sized")
    for speed in (20.0, 100.0, 300.0, 1e6):
        machine = Machine(Throughput(speed, speed), (224, 224))
        for preset, seconds in (("fast", 2.0), ("default", 8.0)):
            designs = preset_values(sobol, preset, lambda machine=machine: machine)["nb_design"]
            low, high = 4, 32
            assert designs & (designs - 1) == 0 and low <= designs <= high
            cost = sobol.cost({"grid_size": 8, "nb_design": designs}, (224, 224))
            if designs > low:
                assert machine.throughput.seconds(cost) <= seconds
            if designs < high:  # the next power of two would not fit
                doubled = sobol.cost({"grid_size": 8, "nb_design": 2 * designs}, (224, 224))
                assert machine.throughput.seconds(doubled) > seconds


@pytest.fixture(scope="module")
def tiny_keras() -> LoadedModel:
    """A randomly initialised two-stage KerasHub ResNet over five classes, at 64 px (Keras, run by Xplique)."""
    from keras_repos import tiny_resnet_backbone

    from hub_models.keras_models import keras_loaded_model
    from hub_models.tensorflow_runtime import import_keras_hub

    keras_hub = import_keras_hub()  # after torch and timm: TensorFlow first would crash triton
    task = keras_hub.models.ResNetImageClassifier(backbone=tiny_resnet_backbone(), num_classes=5)
    return keras_loaded_model("tiny-keras-resnet", task, Preprocessing(input_size=(64, 64)), list("abcde"), {})


@pytest.mark.parametrize("key", KEYS)
def test_on_a_keras_model_xplique_runs_it_counted_and_seeded(key, tiny_keras):
    image = np.random.default_rng(1).integers(0, 256, size=(48, 60, 3), dtype=np.uint8)
    reports: list[float] = []

    def run(seed: int, progress=None):
        return explain(
            tiny_keras, image, key, target=2, params={**TINY[key], "seed": seed}, progress=progress, record_timing=False
        )

    result = run(5, lambda done, _: reports.append(done))
    assert result.backend.startswith("xplique") and result.attribution.shape == (48, 60)
    assert np.isfinite(result.attribution).all() and result.input_map.std() > 0
    assert result.evaluations == METHODS[key].cost(result.params, (64, 64)).evaluations
    assert len(reports) == -(-result.evaluations // 16) and reports[-1] == 1.0
    np.testing.assert_array_equal(run(5).attribution, result.attribution)
    assert not np.array_equal(run(6).attribution, result.attribution)
