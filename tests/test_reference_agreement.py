"""Our maps agree with independent implementations (pytorch-grad-cam, Captum) on the same model, layer and input.

Everything is compared at the model's input resolution: the photo is resized to 224x224 first, so our pipeline's
resizing (image -> input, map -> image) is the identity and both sides see the very same normalised tensor.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from explainers import explain
from explainers.agreement import correlation
from explainers.cam import captured_activation, resolve_layer

pytestmark = pytest.mark.slow

SIDE = 224
WHOLE = "whole image"
"""The square photo at the model's size, framed whole: it reaches the model unchanged (the default crop framing
would resize it to 256 and crop the centre 224 again)."""


@pytest.fixture(scope="module")
def square_cat(chelsea) -> np.ndarray:
    return np.asarray(Image.fromarray(chelsea).resize((SIDE, SIDE), Image.Resampling.BILINEAR))


@pytest.fixture(scope="module")
def model_input(mobilenet, square_cat) -> torch.Tensor:
    inputs = mobilenet.preprocessing.to_tensor(square_cat, WHOLE)
    assert inputs.shape == (1, 3, SIDE, SIDE)
    # No resize on the way in: the model sees the square photo's own pixels.
    pixels = torch.from_numpy(square_cat).permute(2, 0, 1)[None].float() / 255
    torch.testing.assert_close(mobilenet.preprocessing.resize(square_cat, WHOLE), pixels, atol=1e-4, rtol=0)
    return inputs


@pytest.fixture(scope="module")
def target(mobilenet, square_cat) -> int:
    index = mobilenet.top_k(square_cat, 1, WHOLE)[0][0]
    assert index == 285  # Egyptian cat
    return index


def test_auto_chosen_cam_layer_is_the_last_feature_map(mobilenet, model_input):
    """Our blank layer choice must be the output of ``features.18`` (the reference below hooks that module)."""
    name = resolve_layer(mobilenet.module, model_input, "")
    # features, features.18 and its in-place ReLU6 features.18.2 all return this one tensor; the name shown is the
    # leaf that produced it, the one a user finds in the model's printout.
    assert name == "features.18.2"
    with (
        captured_activation(mobilenet.module, name) as ours,
        captured_activation(mobilenet.module, "features.18") as ref,
        torch.no_grad(),
    ):
        mobilenet.module(model_input)
    assert ours["activation"].shape == (1, 1280, 7, 7)
    assert torch.equal(ours["activation"], ref["activation"])


@pytest.mark.parametrize(
    ("layer", "reference_layer"), [("", "features.18"), ("features.18", "features.18"), ("features.13", "features.13")]
)
def test_grad_cam_agrees_with_pytorch_grad_cam(mobilenet, square_cat, model_input, target, layer, reference_layer):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    ours = explain(mobilenet, square_cat, "gradcam", target=target, params={"layer": layer}, framing=WHOLE).attribution
    # Our model's parameters are frozen, so the gradient must start from an input that requires it.
    with GradCAM(model=mobilenet.module, target_layers=[mobilenet.module.get_submodule(reference_layer)]) as cam:
        reference = cam(input_tensor=model_input.clone().requires_grad_(True), targets=[ClassifierOutputTarget(target)])
    assert reference.shape == (1, SIDE, SIDE) and ours.shape == (SIDE, SIDE)
    # pytorch-grad-cam min-max scales its map (ReLU'd, then cv2-resized bilinearly); ours is ReLU'd, then
    # torch-resized bilinearly: equal up to that affine scaling. Measured 0.99999999 for both layers.
    assert correlation(ours, reference[0]) >= 0.999


def test_integrated_gradients_agree_with_captum(mobilenet, square_cat, model_input, target):
    from captum.attr import IntegratedGradients

    steps = 16
    ours = explain(
        mobilenet,
        square_cat,
        "integrated_gradients",
        target=target,
        params={"steps": steps, "baseline_value": 0.0},
        framing=WHOLE,
    ).attribution
    # Xplique: gradients at linspace(0, 1, steps) averaged by the trapezoidal rule, times (x - baseline), then
    # reduced over channels with "mean". Captum's "riemann_trapezoid" uses the same points but step sizes 1/n
    # (halved at both ends), which sum to (n - 1)/n instead of 1: the same map, scaled.
    reference = IntegratedGradients(mobilenet.module).attribute(
        model_input,
        baselines=torch.zeros_like(model_input),
        target=target,
        n_steps=steps,
        method="riemann_trapezoid",
        internal_batch_size=16,
    )
    reference = reference[0].mean(dim=0).numpy() * steps / (steps - 1)
    assert correlation(ours, reference) >= 0.99  # measured 0.99999995 (16, 32 and 50 steps)
    # Measured max difference 7e-5 against a peak of 0.25: a wrong rule or scale would be off by >= 6%.
    np.testing.assert_allclose(ours, reference, rtol=0, atol=0.01 * np.abs(reference).max())


def test_occlusion_agrees_with_captum(mobilenet, square_cat, model_input, target):
    from captum.attr import Occlusion

    patch, stride = 32, 16
    ours = explain(
        mobilenet,
        square_cat,
        "occlusion",
        target=target,
        params={"patch_size": patch, "patch_stride": stride, "occlusion_value": 0.0},
        framing=WHOLE,
    ).attribution
    # Both explain the model's output for the target times nothing else: logits (MobileNetV2 has no softmax).
    # Our occlusion follows Xplique's (whose score is sum(model(x) * one_hot)); Captum's is forward_func(x)[:, target].
    with torch.no_grad():
        reference = Occlusion(mobilenet.module).attribute(
            model_input,
            sliding_window_shapes=(3, patch, patch),
            strides=(3, stride, stride),
            baselines=0.0,
            target=target,
            perturbations_per_eval=16,
        )
    reference = reference[0, 0].numpy()  # the same value on every channel

    # Ours (Xplique's rule) sums the score drops of every patch covering a pixel, Captum averages them: the maps
    # differ near the borders, where fewer patches overlap, and correlate well all the same (measured 0.971).
    assert correlation(ours, reference) >= 0.95

    # Divided by how many patches cover each pixel (Xplique's anchors: 0, stride, ... while a patch still fits),
    # ours must equal Captum's. Measured: correlation 0.99999999, max difference 5e-6 against a peak of 1.7.
    coverage = np.zeros((SIDE, SIDE))
    for top in range(0, SIDE - patch + 1, stride):
        for left in range(0, SIDE - patch + 1, stride):
            coverage[top : top + patch, left : left + patch] += 1
    assert coverage.min() >= 1
    np.testing.assert_allclose(ours / coverage, reference, rtol=0, atol=1e-3 * np.abs(reference).max())
