"""The native PyTorch Saliency, Integrated Gradients and SmoothGrad give the maps Xplique's implementations give.

Saliency and Integrated Gradients are deterministic: their maps must equal Xplique's to float32 round-off. SmoothGrad
draws noise, so it must agree in expectation: with a known answer on a rectifier model, and with Xplique and Captum
as well as two of its own seeds agree with each other. A fast part on small synthetic models at 32 px, a slow part on
the embedded MobileNetV2 and chelsea.
"""

from __future__ import annotations

import sys
from math import erf, sqrt

import numpy as np
import pytest
import torch
from torch import nn

from explainers import integrated_gradients, saliency, smoothgrad
from explainers.agreement import correlation
from explainers.base import Problem
from explainers.counting import CountingModel
from explainers.runtime import import_xplique
from explainers.xplique_bridge import xplique_integrated_gradients, xplique_saliency, xplique_smoothgrad

CAT = 285  # Egyptian cat, chelsea's top-1 class
SIZE = 32


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """Largest difference relative to the reference's peak magnitude."""
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def frozen(module: nn.Module) -> nn.Module:
    """Eval mode and frozen weights, as ``hub_models`` hands every model to the methods."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def small_cnn(smooth: bool = False) -> nn.Module:
    """A random 3-class CNN with kinks (ReLU, max-pooling) or without (Softplus, average pooling).

    The global random generator is left as it was.
    """
    activation, pool = (nn.Softplus, nn.AvgPool2d) if smooth else (nn.ReLU, nn.MaxPool2d)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return frozen(
            nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1),
                activation(),
                pool(2),
                nn.Conv2d(8, 16, 3, padding=1),
                activation(),
                nn.AdaptiveAvgPool2d(2),
                nn.Flatten(),
                nn.Linear(64, 3),
            )
        )


class RectifierModel(nn.Module):
    """Score 0 = ``sum(blob * relu(x))`` over channels and pixels, score 1 its negative.

    Its gradient for pixel (c, h, w) is ``blob[h, w] * [x > 0]``, so SmoothGrad's expectation is known:
    ``blob * Phi(x / noise)``, averaged over the channels. The identity 1x1 convolution makes Xplique's TorchWrapper
    see a CNN and hand it channel-first inputs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.identity = nn.Conv2d(3, 3, 1, groups=3, bias=False)
        nn.init.ones_(self.identity.weight)
        rows, cols = torch.meshgrid(torch.arange(float(SIZE)), torch.arange(float(SIZE)), indexing="ij")
        self.register_buffer("blob", torch.exp(-((rows - 12) ** 2 + (cols - 20) ** 2) / (2 * 8.0**2)))
        frozen(self)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        score = (torch.relu(self.identity(inputs)) * self.blob).sum(dim=(1, 2, 3))
        return torch.stack([score, -score], dim=1)

    def expected_smoothgrad(self, inputs: torch.Tensor, noise: float) -> np.ndarray:
        phi = np.vectorize(lambda z: 0.5 * (1.0 + erf(z / sqrt(2.0))))
        return (self.blob.numpy() * phi(inputs[0].numpy() / noise).mean(axis=0)).astype(np.float32)


class Spy(nn.Module):
    """Forwards to ``model`` and records every batch it is given."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.batches: list[torch.Tensor] = []

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.batches.append(inputs)
        return self.model(inputs)


def problem(model: nn.Module, inputs: torch.Tensor, target: int, n_classes: int, batch_size: int = 16) -> Problem:
    return Problem(
        model=CountingModel(model, 1),
        inputs=inputs,
        rgb=np.zeros(1),
        target=target,
        n_classes=n_classes,
        batch_size=batch_size,
    )


def image(seed: int = 0) -> torch.Tensor:
    return torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def captum_smoothgrad(model: nn.Module, inputs: torch.Tensor, target: int, samples: int, noise: float) -> np.ndarray:
    """Captum's NoiseTunnel(Saliency) with SmoothGrad's semantics as Xplique has them: raw gradients, absolute std."""
    from captum.attr import NoiseTunnel
    from captum.attr import Saliency as CaptumSaliency

    with torch.random.fork_rng():
        torch.manual_seed(0)
        attribution = NoiseTunnel(CaptumSaliency(model)).attribute(
            inputs.clone().requires_grad_(True),
            nt_type="smoothgrad",
            nt_samples=samples,
            nt_samples_batch_size=16,
            stdevs=noise,
            target=target,
            abs=False,
        )
    return attribution[0].mean(dim=0).numpy()


@pytest.fixture(scope="module")
def cnn_case() -> Problem:
    return problem(small_cnn(), image(), target=1, n_classes=3)


@pytest.fixture(scope="module")
def rectifier() -> RectifierModel:
    return RectifierModel()


def test_saliency_equals_xplique(cnn_case):
    ours = saliency.attribute(cnn_case, {})
    reference = xplique_saliency(cnn_case, {})
    assert ours.shape == reference.shape == (SIZE, SIZE)
    assert ours.dtype == np.float32
    assert (ours >= 0).all()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6 * float(np.abs(reference).max()))


@pytest.mark.parametrize(("steps", "baseline"), [(2, 0.0), (16, 0.0), (50, 0.5), (23, -1.0)])
def test_integrated_gradients_equal_xplique(cnn_case, steps, baseline):
    params = {"steps": steps, "baseline_value": baseline}
    ours = integrated_gradients.attribute(cnn_case, params)
    reference = xplique_integrated_gradients(cnn_case, params)
    assert ours.shape == reference.shape == (SIZE, SIZE)
    assert ours.dtype == np.float32
    assert relative_error(ours, reference) <= 1e-5


def test_smoothgrad_without_noise_equals_xplique_exactly(cnn_case):
    """Noise 0 makes SmoothGrad deterministic: the averaging and the channel reduction must be Xplique's."""
    params = {"nb_samples": 20, "noise": 0.0}
    ours = smoothgrad.attribute(cnn_case, {**params, "seed": 0})
    reference = xplique_smoothgrad(cnn_case, params)
    assert relative_error(ours, reference) <= 1e-5
    assert (ours < 0).any() and (ours > 0).any(), "signed gradients are averaged, not their magnitudes"


def test_path_alphas_are_tensorflows_linspace_to_the_bit():
    import_xplique()
    tf = sys.modules["tensorflow"]
    for steps in [*range(2, 130), 250, 499, 500]:
        expected = tf.linspace(0.0, 1.0, steps).numpy()
        np.testing.assert_array_equal(integrated_gradients.path_alphas(steps).numpy(), expected, err_msg=f"{steps}")


@pytest.mark.parametrize("steps", [2, 3, 16, 50])
def test_trapezoid_weights_sum_to_one_and_halve_the_ends(steps):
    weights = integrated_gradients.trapezoid_weights(steps)
    assert float(weights.sum()) == pytest.approx(1.0, abs=1e-6)
    assert float(weights[0]) == float(weights[-1]) == pytest.approx(0.5 / (steps - 1))


def test_integrated_gradients_are_complete_on_a_smooth_model():
    """The map sums to the score's change from the baseline (times 3: it is the mean over the channels)."""
    model = small_cnn(smooth=True)
    case = problem(model, image(1), target=1, n_classes=3)
    ours = integrated_gradients.attribute(case, {"steps": 200, "baseline_value": -1.0})
    with torch.no_grad():
        change = float(model(case.inputs)[0, 1] - model(torch.full_like(case.inputs, -1.0))[0, 1])
    assert abs(change) > 0.01
    assert 3 * float(ours.sum(dtype=np.float64)) == pytest.approx(change, rel=1e-3)


@pytest.mark.parametrize(
    ("method", "params", "evaluations"),
    [
        (saliency, {}, 1),
        (integrated_gradients, {"steps": 50, "baseline_value": 0.0}, 50),
        (smoothgrad, {"nb_samples": 37, "noise": 0.2, "seed": 0}, 37),
    ],
)
def test_every_model_call_is_a_full_channels_last_batch_through_the_counting_model(method, params, evaluations):
    spy = Spy(small_cnn())
    case = problem(spy, image(), target=0, n_classes=3)
    method.attribute(case, params)
    sizes = [len(batch) for batch in spy.batches]
    assert case.model.evaluations == sum(sizes) == evaluations
    batch_size = min(case.batch_size, saliency.GRADIENT_BATCH_SIZE)
    assert case.batch_size > batch_size and max(sizes) <= batch_size, "at most GRADIENT_BATCH_SIZE per batch"
    assert len(sizes) == -(-evaluations // batch_size), "as few batches as the batch size allows"
    assert max(sizes) - min(sizes) <= 1, "near-equal batches: no small remainder batch"
    assert all(batch.is_contiguous(memory_format=torch.channels_last) for batch in spy.batches)
    assert all(batch.requires_grad and batch.is_leaf for batch in spy.batches)


@pytest.mark.parametrize(("total", "batch_size"), [(1, 16), (16, 16), (17, 16), (50, 16), (500, 16), (7, 3)])
def test_batch_slices_cover_every_item_once(total, batch_size):
    slices = saliency.batch_slices(total, batch_size)
    covered = [i for part in slices for i in range(total)[part]]
    assert covered == list(range(total))
    assert all(part.stop - part.start <= batch_size for part in slices)


@pytest.mark.parametrize("method", [integrated_gradients, smoothgrad])
def test_the_batch_size_does_not_change_the_map(method):
    params = (
        {"steps": 20, "baseline_value": 0.0} if method is integrated_gradients else {"nb_samples": 20, "noise": 0.3}
    )
    one_batch = method.attribute(problem(small_cnn(), image(), 1, 3, batch_size=32), params)
    small_batches = method.attribute(problem(small_cnn(), image(), 1, 3, batch_size=3), params)
    np.testing.assert_allclose(small_batches, one_batch, rtol=0, atol=1e-5 * float(np.abs(one_batch).max()))


def test_smoothgrad_depends_only_on_its_seed(cnn_case):
    params = {"nb_samples": 8, "noise": 0.2}
    first = smoothgrad.attribute(cnn_case, {**params, "seed": 3})
    torch.manual_seed(12345)  # the global generator must not matter
    again = smoothgrad.attribute(cnn_case, {**params, "seed": 3})
    other = smoothgrad.attribute(cnn_case, {**params, "seed": 4})
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_smoothgrad_converges_to_its_known_expectation_as_xplique_and_captum_do(rectifier):
    """500 samples: the per-pixel standard error is <= 0.5 / sqrt(3 * 500) = 0.013 of the blob's peak."""
    noise = 0.5
    case = problem(rectifier, image(2), target=0, n_classes=2)
    expected = rectifier.expected_smoothgrad(case.inputs, noise)
    ours = smoothgrad.attribute(case, {"nb_samples": 500, "noise": noise, "seed": 0})
    reference = xplique_smoothgrad(case, {"nb_samples": 500, "noise": noise})
    captum = captum_smoothgrad(rectifier, case.inputs, 0, 500, noise)
    for estimate in (ours, reference, captum):
        assert correlation(estimate, expected) >= 0.99
        assert np.abs(estimate - expected).max() <= 0.07 * expected.max()  # ~5 standard errors
    # Not the noise-free gradient, which has hard steps where x crosses 0.
    assert np.abs(smoothgrad.attribute(case, {"nb_samples": 2, "noise": 0.0}) - expected).max() > 0.2


@pytest.mark.slow
def test_on_mobilenet_and_chelsea(mobilenet, chelsea):
    inputs = mobilenet.preprocessing.to_tensor(chelsea)
    case = problem(mobilenet.module, inputs, CAT, mobilenet.n_classes)
    ours, reference = saliency.attribute(case, {}), xplique_saliency(case, {})
    assert relative_error(ours, reference) <= 1e-5  # measured 0 (bit-identical)

    params = {"steps": 16, "baseline_value": 0.0}
    ours, reference = integrated_gradients.attribute(case, params), xplique_integrated_gradients(case, params)
    assert relative_error(ours, reference) <= 1e-5  # measured 2e-7; torch.linspace's alphas alone gave 6e-4

    # SmoothGrad at 112 px keeps the test short. Monte Carlo noise limits the agreement: Xplique and Captum must
    # agree with ours as well as two of our seeds agree with each other (measured at 64 samples: seeds 0.83,
    # ours-Xplique 0.83-0.84, ours-Captum 0.83; at 224 px 0.80, 0.80, 0.80).
    small = torch.nn.functional.interpolate(inputs, size=(112, 112), mode="bilinear", antialias=True)
    case = problem(mobilenet.module, small, CAT, mobilenet.n_classes)
    params = {"nb_samples": 64, "noise": 0.2}
    first = smoothgrad.attribute(case, {**params, "seed": 0})
    second = smoothgrad.attribute(case, {**params, "seed": 1})
    reference = xplique_smoothgrad(case, params)
    captum = captum_smoothgrad(mobilenet.module, small, CAT, 64, 0.2)
    seeds = correlation(first, second)
    assert seeds >= 0.7
    for other in (reference, captum):
        assert min(correlation(first, other), correlation(second, other)) >= seeds - 0.05
        assert float(first.std() / other.std()) == pytest.approx(1.0, abs=0.1)  # the same scale, not just shape
