"""Every method with a Keras implementation, run by Xplique on a Keras 3 classifier (issue 19).

Two tiny KerasHub classifiers are built in-process, with random weights, once for the module: a ResNet (ReLU
everywhere) and an EfficientNet (swish, no ReLU: Guided Backprop and DeconvNet refuse it). Both take 64 px inputs.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from keras_repos import tiny_resnet_backbone

from explainers import METHODS, explain
from explainers.base import Problem
from explainers.compare import compare
from explainers.counting import CountingModel
from explainers.explain import build_problem
from explainers.faithfulness import FaithfulnessSettings
from explainers.families import applicable
from explainers.occlusion import patch_positions
from explainers.registry import all_params, validate_params
from explainers.sanity import cascading_randomisation, parameter_blocks, randomise
from explainers.xplique_bridge import XPLIQUE_REFERENCES
from explainers.xplique_keras import watched_layer_name
from hub_models import LoadedModel, Preprocessing, UserInputError
from hub_models.examples import example_photo
from hub_models.keras_models import keras_loaded_model
from hub_models.tensorflow_runtime import import_keras_hub

SIZE = (64, 64)
LABELS = ["ant", "bee", "cat", "dog", "eel"]
KERAS_METHODS = [method for method in METHODS.values() if method.keras is not None]
KERAS_ONLY = ("fem", "guided_backprop", "deconvnet")


def small_settings(key: str) -> dict:
    """The fast preset with every sized count cut to 8 at most (a power of two: Sobol's designs need one)."""
    method = METHODS[key]
    counts = {p.name: int(max(p.minimum, min(p.fast, 8))) for p in all_params(method) if p.sized}
    return {"preset": "fast", **counts}


@pytest.fixture(scope="module")
def keras_hub():
    hub = import_keras_hub()
    import keras

    keras.utils.set_random_seed(0)
    return hub


@pytest.fixture(scope="module")
def resnet(keras_hub) -> LoadedModel:
    """A two-stage ResNet with basic blocks: ReLU activations, last backbone map 16 x 16 at 64 px."""
    task = keras_hub.models.ResNetImageClassifier(backbone=tiny_resnet_backbone(), num_classes=len(LABELS))
    return keras_loaded_model("tiny-keras-resnet", task, Preprocessing(input_size=SIZE), LABELS, {"id": "tiny"})


@pytest.fixture(scope="module")
def efficientnet(keras_hub) -> LoadedModel:
    """A two-block EfficientNet: swish (silu) and sigmoid activations, no ReLU anywhere."""
    backbone = keras_hub.models.EfficientNetBackbone(
        stackwise_width_coefficients=[1.0, 1.0],
        stackwise_depth_coefficients=[1.0, 1.0],
        stackwise_kernel_sizes=[3, 3],
        stackwise_num_repeats=[1, 1],
        stackwise_input_filters=[8, 8],
        stackwise_output_filters=[8, 16],
        stackwise_expansion_ratios=[1, 2],
        stackwise_squeeze_and_excite_ratios=[0.25, 0.25],
        stackwise_strides=[1, 2],
        stackwise_block_types=["v1", "v1"],
        stackwise_force_input_filters=[0, 0],
        stackwise_nores_option=[False, False],
        num_features=32,
        input_shape=(None, None, 3),
    )
    task = keras_hub.models.EfficientNetImageClassifier(backbone=backbone, num_classes=len(LABELS))
    return keras_loaded_model("tiny-keras-efficientnet", task, Preprocessing(input_size=SIZE), LABELS, {"id": "e"})


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """chelsea at a fifth of its size (60 x 91): a photo, so that SLIC finds superpixels (noise gives one)."""
    return np.ascontiguousarray(example_photo("chelsea")[::5, ::5])


def problem_of(model: LoadedModel, image: np.ndarray, target: int = 1) -> Problem:
    return build_problem(model, image, target, CountingModel(model.module, 1))


@pytest.mark.parametrize("method", KERAS_METHODS, ids=lambda m: m.key)
def test_every_keras_method_gives_a_finite_varying_map_of_the_image_size_at_its_cost(method, resnet, photo):
    params = small_settings(method.key)
    result = explain(resnet, photo, method.key, target=None, params=params)  # top-1
    assert result.attribution.shape == photo.shape[:2]
    assert result.attribution.dtype == np.float32
    assert np.isfinite(result.attribution).all()
    assert np.ptp(result.input_map) > 0, "a constant map explains nothing"
    predicted = method.cost(validate_params(method, params), SIZE).evaluations
    assert result.evaluations == predicted, "every batch Xplique sends is counted, as the cost model says"


def test_the_methods_offered_for_a_keras_model_are_those_with_a_keras_implementation(resnet, tiny_model):
    keras_keys = {m.key for m in applicable(METHODS, resnet.module, torch.zeros(1, 3, *SIZE))}
    assert {"rollout", "chefer", "edges"}.isdisjoint(keras_keys), "attention methods and the control: PyTorch only"
    assert set(KERAS_ONLY) | {"gradcam", "gradient_input", "vargrad", "squaregrad", "lime"} <= keras_keys
    torch_keys = {m.key for m in applicable(METHODS, tiny_model.module, torch.zeros(1, 3, 32, 32))}
    assert set(KERAS_ONLY).isdisjoint(torch_keys)
    assert {"gradient_input", "vargrad", "squaregrad", "edges"} <= torch_keys


@pytest.mark.parametrize("key", KERAS_ONLY)
def test_a_keras_only_method_asked_of_a_pytorch_model_says_so_and_names_what_applies(key, tiny_model):
    image = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    with pytest.raises(UserInputError, match=r"no implementation for PyTorch models.*Grad-CAM.*Gradient x Input"):
        explain(tiny_model, image, key, target=0)


def test_grad_cam_watches_the_backbones_last_map_and_a_bad_layer_lists_the_choices(resnet, photo):
    default = watched_layer_name(problem_of(resnet, photo), "")
    assert default == "stack1_block0_out"
    assert default in resnet.module.backbone_layers
    # The top class: on random weights another class's Grad-CAM may be 0 everywhere (all channel sums negative).
    late = explain(resnet, photo, "gradcam", params={"layer": ""}).input_map
    early = explain(resnet, photo, "gradcam", params={"layer": "stack0_block0_out"}).input_map
    assert not np.allclose(early, late)
    for key in ("gradcam", "gradcampp", "fem"):
        for layer in ("predictions", "input_layer", "no such layer"):  # the head, the image itself, a typo
            with pytest.raises(
                UserInputError, match=rf"'{layer}' is not a layer with a spatial map.*stack1_block0_out"
            ):
                explain(resnet, photo, key, target=1, params={"layer": layer})


def test_xplique_grad_cam_on_keras_equals_the_rule_computed_by_hand(resnet, photo):
    """Selvaraju et al.'s rule with a GradientTape on the watched layer: channel weights = mean gradient over the
    grid, map = ReLU(sum_k w_k A_k), resized bicubically to the input as Xplique does."""
    import keras
    import tensorflow as tf

    top = resnet.resolve_target(None, photo)
    problem = problem_of(resnet, photo, target=top)
    ours = METHODS["gradcam"].keras(problem, {"layer": ""})
    model = resnet.module.keras
    watched = keras.Model(model.inputs, [model.get_layer("stack1_block0_out").output, model.output])
    pixels = tf.constant(problem.inputs.permute(0, 2, 3, 1).numpy())
    with tf.GradientTape() as tape:
        activations, logits = watched(pixels, training=False)
        score = logits[:, top]
    gradients = tape.gradient(score, activations)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(activations * weights, axis=-1))
    hand = tf.image.resize(cam[..., None], SIZE, method="bicubic")[0, ..., 0].numpy()
    assert np.abs(hand).max() > 0
    np.testing.assert_allclose(ours, hand, rtol=0, atol=1e-5 * np.abs(hand).max())


def test_a_grad_cam_that_fails_half_way_leaves_the_layer_as_it_was(resnet, photo, monkeypatch):
    """Xplique wraps the watched layer's call and undoes it only once the gradient is taken; a model that raised in
    between would leave it wrapped, and the next Grad-CAM on that layer would fail an assertion."""
    top = resnet.resolve_target(None, photo)
    expected = explain(resnet, photo, "gradcam", top).input_map

    def broken(*_args, **_kwargs):
        raise RuntimeError("the model failed")

    monkeypatch.setattr(resnet.module.keras.get_layer("predictions"), "call", broken)  # after the watched layer
    with pytest.raises(RuntimeError, match="the model failed"):
        explain(resnet, photo, "gradcam", top)
    monkeypatch.undo()
    layer = resnet.module.keras.get_layer("stack1_block0_out")
    assert not hasattr(layer, "result") and not hasattr(layer.call, "__wrapped__")
    np.testing.assert_array_equal(explain(resnet, photo, "gradcam", top).input_map, expected)


@pytest.mark.parametrize(("key", "name"), [("guided_backprop", "Guided Backprop"), ("deconvnet", "DeconvNet")])
def test_relu_methods_refuse_a_network_without_relu_and_name_what_to_use(key, name, efficientnet, photo):
    with pytest.raises(UserInputError, match=rf"{name} applies to networks with ReLU.*silu.*Use Saliency, SmoothGrad"):
        explain(efficientnet, photo, key, target=0)
    assert np.ptp(explain(efficientnet, photo, "saliency", target=0).input_map) > 0, "what it names does run"


def test_occlusion_counts_every_batch_through_the_counter_as_the_cost_model_says(resnet, photo):
    calls = []
    params = {"patch_size": 16, "patch_stride": 8, "occlusion_value": 0.0}
    result = explain(resnet, photo, "occlusion", 0, params, progress=lambda done, text: calls.append(done))
    positions = patch_positions(SIZE, 16, 8)
    assert positions == 49
    assert result.evaluations == 1 + positions == METHODS["occlusion"].cost(params, SIZE).evaluations
    # Counted batch by batch as Xplique sends them (the image alone for its base score, then the 49 occluded copies
    # in batches of 16), not once at the end.
    assert calls == pytest.approx([1 / 50, 17 / 50, 33 / 50, 49 / 50, 1.0])


def test_xplique_keeps_no_model_after_a_run(resnet, photo):
    from explainers.runtime import import_xplique

    cache = import_xplique().attributions.base.BlackBoxExplainer._cache_models
    before = dict(cache)
    for key in ("occlusion", "saliency", "gradcam", "guided_backprop", "fem"):
        explain(resnet, photo, key, target=0, params=small_settings(key))
    assert cache == before


def test_faithfulness_scores_keras_maps(resnet, photo):
    """Deletion, Insertion and MuFidelity only call the model's forward, which the Keras classifier provides."""
    settings = FaithfulnessSettings(steps=4, mufidelity_samples=8, batch_size=8)
    results = compare(resnet, photo, ["gradcam", "guided_backprop"], "fast", settings=settings)  # top-1
    for result in results:
        scores = result.scores
        assert len(scores.deletion_curve) == len(scores.insertion_curve) == 5
        assert all(0.0 <= p <= 1.0 for p in scores.deletion_curve + scores.insertion_curve)
        assert np.isfinite([scores.deletion, scores.insertion, scores.mufidelity]).all()
        assert scores.deletion_curve[0] == pytest.approx(scores.insertion_curve[-1], abs=1e-5), "both: the image"


def test_sanity_check_randomises_a_copy_of_the_keras_model_from_the_top(resnet, photo):
    module = resnet.module
    original = [weight.copy() for weight in module.keras.get_weights()]
    blocks = parameter_blocks(module, torch.zeros(1, 3, *SIZE))
    assert blocks[0].name == "predictions" and blocks[-1].name.startswith("conv1")
    assert {m for b in blocks for m in b.members} == {layer.name for layer in module.keras.layers if layer.weights}

    result = cascading_randomisation(resnet, photo, "gradcam", params={"preset": "fast"}, steps=2)  # top-1
    assert [stage.step for stage in result.stages] == [0, 1, 2]
    assert result.stages[1].blocks[0] == "predictions"
    assert all(np.isfinite([stage.spearman, stage.ssim]).all() for stage in result.stages)
    for before, after in zip(original, module.keras.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)

    chosen = ["predictions", "stack0_block0_1_conv"]
    copied, again = copy.deepcopy(module), copy.deepcopy(module)
    randomise(copied, chosen, seed=3)
    randomise(again, chosen, seed=3)
    for name in (*chosen, "conv1_conv"):
        mine, twin, kept = (m.keras.get_layer(name).get_weights() for m in (copied, again, module))
        for a, b in zip(mine, twin, strict=True):
            np.testing.assert_array_equal(a, b)  # the same seed, the same weights
        # The kernels are drawn at random; a bias starts at 0 and is reset to 0.
        assert np.array_equal(mine[0], kept[0]) == (name not in chosen), f"{name}: randomised only where asked"
    for before, after in zip(original, module.keras.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


class Quadratic(torch.nn.Module):
    """score_c(x) = sum(a_c * x^2) / 2: its gradient is a_c * x, so the noisy-gradient statistics are known. The
    unused convolution tells Xplique's TorchWrapper to feed it channels first."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.a = torch.nn.Parameter(torch.rand(2, *shape, generator=torch.Generator().manual_seed(0)) + 0.5)
        self.unused = torch.nn.Conv2d(shape[0], 1, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack([(a * inputs.square()).flatten(1).sum(1) / 2 for a in self.a], dim=1)


@pytest.mark.parametrize("implementation", ["native", "xplique"])
@pytest.mark.parametrize("key", ["vargrad", "squaregrad"])
def test_gradient_statistics_converge_to_their_closed_form(key, implementation):
    """With g = a (x + eps), eps ~ N(0, s^2): VarGrad -> mean_c a_c^2 s^2, SquareGrad -> mean_c a_c^2 (x_c^2 + s^2)."""
    model = Quadratic((3, 8, 8)).eval()
    inputs = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    problem = Problem(model, inputs, np.zeros((8, 8, 3), np.uint8), target=1, n_classes=2)
    params = {"nb_samples": 400, "noise": 0.5, "seed": 0}
    a, x, s = model.a[1].detach(), inputs[0], params["noise"]
    expected = (a**2 * s**2 if key == "vargrad" else a**2 * (x**2 + s**2)).mean(dim=0).numpy()
    if implementation == "native":
        estimated = METHODS[key].attribute(problem, params)
    else:
        torch.manual_seed(0)
        estimated = XPLIQUE_REFERENCES[key](problem, params)
    assert estimated.shape == (8, 8)
    assert np.mean(estimated) == pytest.approx(np.mean(expected), rel=0.05)
    assert np.corrcoef(estimated.ravel(), expected.ravel())[0, 1] > 0.8


def test_native_gradient_x_input_equals_xplique(tiny_model):
    image = np.random.default_rng(4).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    problem = build_problem(tiny_model, image, 2, CountingModel(tiny_model.module, 1))
    ours = METHODS["gradient_input"].attribute(problem, {})
    theirs = XPLIQUE_REFERENCES["gradient_input"](problem, {})
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5 * np.abs(theirs).max())
