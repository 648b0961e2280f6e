"""No hook is left behind: every method of every method table, after a normal run, a bad target and a model that
raises, and every other place that watches a network from inside (the MLP's recorder, the sanity check's order,
batch-norm folding). A hook left on a cached model would run in every later request (Captum's
``test_hook_removal.py`` checks its algorithms the same way)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import Tripwire, tiny_boxes_detector, tiny_cnn, tiny_vit
from torch import nn

from explainers import METHODS, explain
from explainers.base import CNN
from explainers.detection import DETECTION_METHODS, explain_box
from explainers.mlp_dynamics import recorded_outputs
from explainers.registry import all_params
from explainers.sanity import parameter_blocks
from hub_models import LoadedModel, Preprocessing, UserInputError
from hub_models.folding import fold_batch_norms

MODES = ("normal", "bad target", "model raises")
TABLES = {"classification": METHODS, "detection": DETECTION_METHODS}
# Keras-only methods (FEM, Guided Backprop, DeconvNet) put no hook on a PyTorch model: they refuse it
# (tests/test_registry_methods.py).
CASES = [
    (task, key, mode)
    for task, table in TABLES.items()
    for key in table
    for mode in MODES
    if table[key].attribute is not None
]


def tiny_classifier() -> LoadedModel:
    layers = list(tiny_cnn(seed=1))
    module = nn.Sequential(*layers[:2], Tripwire(), *layers[2:])
    return LoadedModel("tripwire-cnn", module, Preprocessing((32, 32)), [f"class {i}" for i in range(10)])


def tiny_settings(table: dict, key: str) -> dict:
    """Every count at its smallest sensible value: 2 masks, 2 steps, 2 samples."""
    return {
        param.name: int(max(param.minimum, 2))
        for param in all_params(table[key])
        if param.kind is int and param.name not in ("seed", "patch_size", "patch_stride", "n_segments")
    }


def hooks_left(module: nn.Module) -> list[str]:
    """Every hook on ``module`` and its submodules, and the global ones, by where it sits."""
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    left = [f"{name or 'model'}.{kind}" for name, sub in module.named_modules() for kind in kinds if getattr(sub, kind)]
    registered = torch.nn.modules.module
    for kind in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks"):
        left += [kind] if getattr(registered, kind) else []
    return left


def tiny_transformer() -> LoadedModel:
    """The tiny ViT with a ``Tripwire`` after its first block's attention: for the methods that need a ViT."""
    return LoadedModel("tripwire-vit", tiny_vit(seed=1, tripwire=True), Preprocessing((64, 64)), list("abcdefghij"))


@pytest.fixture(scope="module")
def models() -> dict:
    return {"classification": tiny_classifier(), "vit": tiny_transformer(), "detection": tiny_boxes_detector()}


def switches(module: nn.Module) -> list:
    """How a model runs its attention: timm's ``fused_attn`` flags and transformers' implementations, by module."""
    return [
        (name, getattr(sub, "fused_attn", None), getattr(getattr(sub, "config", None), "_attn_implementation", None))
        for name, sub in module.named_modules()
    ]


@pytest.mark.parametrize(("task", "key", "mode"), CASES, ids=[f"{t}-{k}-{m}" for t, k, m in CASES])
def test_no_hook_is_left_behind(models, task, key, mode):
    vit_only = task == "classification" and CNN not in METHODS[key].families
    model = models["vit" if vit_only else task]
    before = switches(model.module)
    image = np.random.default_rng(0).integers(0, 256, size=(36, 44, 3), dtype=np.uint8)
    params = tiny_settings(TABLES[task], key)
    target = 99 if mode == "bad target" else (0 if task == "detection" else 3)
    tripwires = [layer for layer in model.module.modules() if isinstance(layer, Tripwire)]
    for tripwire in tripwires:
        tripwire.armed = mode == "model raises"
    try:
        if task == "classification":
            run = lambda: explain(model, image, key, target, params)  # noqa: E731
        else:
            run = lambda: explain_box(model, image, target, key, params, threshold=1e-6)  # noqa: E731
        if mode == "normal":
            run()
        elif mode == "bad target":
            with pytest.raises(UserInputError):
                run()
        elif task == "detection" or TABLES[task][key].family != "baseline":
            with pytest.raises(RuntimeError, match="the model failed"):
                run()
        else:
            run()  # a control that never calls the model
    finally:
        for tripwire in tripwires:
            tripwire.armed = False
    assert hooks_left(model.module) == []
    assert switches(model.module) == before, "the attention methods restore the fused attention they turned off"


def test_the_recorder_the_sanity_check_and_folding_leave_no_hook_even_when_the_model_raises():
    model = tiny_classifier().module
    inputs = torch.rand(1, 3, 32, 32)
    with recorded_outputs(model, ["1", "4"]) as store:
        model(inputs)
    assert set(store) == {"1", "4"}
    assert len(parameter_blocks(model, inputs)) >= 2
    norm = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    assert fold_batch_norms(norm, (8, 8)) == [("0", "1")]
    assert hooks_left(model) == [] and hooks_left(norm) == []

    model[2].armed = True
    failing = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), model[2]).eval()
    for watch in (lambda: parameter_blocks(model, inputs), lambda: fold_batch_norms(failing, (8, 8))):
        with pytest.raises(RuntimeError, match="the model failed"):
            watch()
    with pytest.raises(RuntimeError, match="the model failed"), recorded_outputs(model, ["1"]):
        model(inputs)
    model[2].armed = False
    assert hooks_left(model) == [] and hooks_left(failing) == []
