"""Every registered method, driven by the registry: runs with tiny settings, validates its parameters."""

from __future__ import annotations

import numpy as np
import pytest

from explainers import METHODS, Explanation, Method, explain, get_method, validate_params
from explainers.base import CNN
from explainers.detection import DETECTION_METHODS, explain_box
from explainers.registry import all_params
from hub_models import UserInputError

TABLES = {"classification": METHODS, "detection": DETECTION_METHODS}
ALL = [(task, key) for task, table in TABLES.items() for key in table]
IDS = [f"{task}-{key}" for task, key in ALL]


def tiny_settings(method: Method) -> dict:
    """Each numeric parameter at the smallest value its range allows (2 masks, 2 steps, ...), text at its default."""
    settings = {}
    for param in all_params(method):
        if param.kind is int and param.name != "seed":
            settings[param.name] = int(max(param.minimum, min(param.fast, 4 if param.name != "patch_size" else 8)))
    return settings


@pytest.fixture(scope="module")
def run(tiny_model, tiny_vit_model, tiny_detector):
    """``run(task, key, image, target, params)``: a classification method on the tiny CNN, or on the tiny ViT for a
    method that gives maps on vision transformers only (``target`` a class), or a detection method on the tiny
    detector (``target`` a box id, every box a detection)."""

    def explained(task: str, key: str, image: np.ndarray, target: int, params: dict) -> Explanation:
        if task == "classification":
            model = tiny_model if CNN in METHODS[key].families else tiny_vit_model
            return explain(model, image, key, target=target, params=params)
        return explain_box(tiny_detector, image, target, key, params, threshold=1e-6)

    return explained


def keras_only(task: str, key: str) -> bool:
    """A method with no PyTorch implementation (Xplique's FEM, Guided Backprop, DeconvNet): every model here is a
    PyTorch one, so it must be refused; ``tests/test_keras_methods.py`` runs it on Keras models."""
    return task == "classification" and METHODS[key].attribute is None


@pytest.mark.parametrize(("task", "key"), ALL, ids=IDS)
def test_method_returns_finite_map_of_the_image_size(task, key, run):
    image = np.random.default_rng(0).integers(0, 256, size=(40, 52, 3), dtype=np.uint8)
    method = TABLES[task][key]
    target = 3 if task == "classification" else 1  # a class, or the second detection
    if keras_only(task, key):
        with pytest.raises(UserInputError, match=rf"{method.name} has no implementation for PyTorch.*Grad-CAM"):
            run(task, key, image, target, tiny_settings(method))
        return
    result = run(task, key, image, target, tiny_settings(method))
    assert result.attribution.shape == (40, 52)
    assert result.attribution.dtype == np.float32
    assert np.isfinite(result.attribution).all()
    assert result.target == target and result.task == task and result.method_key == key
    assert result.evaluations >= (0 if method.family == "baseline" else 1), "only a control ignores the model"


@pytest.mark.parametrize(("task", "key"), ALL, ids=IDS)
def test_cost_model_counts_the_evaluations_the_method_makes(task, key, run, tiny_model):
    image = np.random.default_rng(1).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    method = TABLES[task][key]
    if keras_only(task, key):
        pytest.skip("Keras only: its evaluations are counted in tests/test_keras_methods.py")
    params = validate_params(method, tiny_settings(method))
    predicted = method.cost(params, tiny_model.preprocessing.input_size).evaluations
    result = run(task, key, image, 0, params)
    assert result.evaluations == pytest.approx(predicted, rel=0.05, abs=2)


@pytest.mark.parametrize(("task", "key"), ALL, ids=IDS)
def test_presets_are_valid_and_fast_is_not_dearer_than_default(task, key):
    method = TABLES[task][key]
    fast = validate_params(method, {"preset": "fast"})
    default = validate_params(method, {"preset": "default"})
    assert method.cost(fast, (224, 224)).evaluations <= method.cost(default, (224, 224)).evaluations


def test_methods_are_found_by_key_or_name_and_unknown_ones_list_the_allowed():
    assert get_method("grad-cam").key == "gradcam"
    assert get_method("RISE") is get_method("rise")
    with pytest.raises(UserInputError, match=r"Grad-CAM.*RISE"):
        get_method("deep-taylor")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nb_samples": -1}, "between 2 and 20000"),
        ({"nb_samples": 10**9}, "between 2 and 20000"),
        ({"nb_samples": "many"}, "must be a number"),
        ({"nb_samples": 2.5}, "whole number"),
        ({"nb_samples": float("nan")}, "must be a number"),
        ({"masks": 10}, r"no parameter 'masks'.*nb_samples"),
        ({"preset": "turbo"}, "Unknown preset"),
    ],
)
def test_bad_parameters_get_a_message_naming_the_problem(overrides, message):
    with pytest.raises(UserInputError, match=message):
        validate_params(get_method("rise"), overrides)


def test_malformed_json_parameters_are_refused_clearly(tiny_model):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(UserInputError, match="not valid JSON"):
        explain(tiny_model, image, "rise", params='{"nb_samples": ')
    with pytest.raises(UserInputError, match="JSON object"):
        explain(tiny_model, image, "rise", params="[1, 2]")


def test_grad_cam_layer_override_and_bad_layer(tiny_model):
    image = np.random.default_rng(2).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    early = explain(tiny_model, image, "gradcam", target=1, params={"layer": "1"}).attribution
    late = explain(tiny_model, image, "gradcam", target=1, params={"layer": ""}).attribution
    assert not np.allclose(early, late)
    with pytest.raises(UserInputError, match="not a spatial map of the image"):
        explain(tiny_model, image, "gradcam", target=1, params={"layer": "8"})


def test_cam_on_a_model_without_feature_maps_says_which_methods_apply():
    from torch import nn

    from hub_models import LoadedModel, Preprocessing

    flat = LoadedModel(
        "mlp", nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 4)), Preprocessing((16, 16)), list("abcd")
    )
    image = np.random.default_rng(3).integers(0, 256, size=(20, 20, 3), dtype=np.uint8)
    with pytest.raises(UserInputError, match=r"CAM methods do not apply.*Use RISE, Occlusion"):
        explain(flat, image, "gradcam", target=0)
    assert np.isfinite(explain(flat, image, "rise", target=0, params={"nb_samples": 8}).attribution).all()
