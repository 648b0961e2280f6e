"""The cascading-randomisation sanity check on the real embedded MobileNetV2 and the bundled photo of Chelsea."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
from fake_hub import TIMM_IMAGENET, TRANSFORMERS
from torch import nn

from explainers import explain
from explainers.presets import Machine
from explainers.registry import get_method
from explainers.sanity import (
    cascade_stages,
    cascading_randomisation,
    parameter_blocks,
    randomise,
    report_params,
    similarity,
)
from explainers.sanity_report import describe_cost
from explainers.throughput import Throughput, _measured
from hub_models import load_model
from hub_models.errors import UserInputError
from outputs.sanity_render import similarity_plot, step_overlays

SPEARMAN_THRESHOLD = 0.5


def _weights(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in module.state_dict().items()}


def _unchanged(module: nn.Module, before: dict[str, torch.Tensor]) -> bool:
    """Every weight and buffer of ``module`` still equals its copy in ``before``."""
    return all(torch.equal(tensor, before[name]) for name, tensor in module.state_dict().items())


@pytest.fixture(scope="module")
def gradcam_run(mobilenet, chelsea):
    """Grad-CAM's check in 3 steps, and whether the shared cached model kept every weight and buffer."""
    before = _weights(mobilenet.module)
    result = cascading_randomisation(mobilenet, chelsea, "Grad-CAM", steps=3)
    return result, _unchanged(mobilenet.module, before)


@pytest.fixture(scope="module")
def edges_run(mobilenet, chelsea):
    return cascading_randomisation(mobilenet, chelsea, "edges", steps=2)


def test_mobilenet_is_randomised_block_by_block_from_the_classifier_down(mobilenet, chelsea):
    blocks = parameter_blocks(mobilenet.module, mobilenet.preprocessing.to_tensor(chelsea))
    assert [block.name for block in blocks] == ["classifier.1"] + [f"features.{i}" for i in range(18, -1, -1)]
    assert blocks[1].members == ("features.18.0",), "the convolution, its batch norm folded in at load"
    stages = cascade_stages(blocks, 5)
    assert [len(stage) for stage in stages] == [1, 2, 4, 6, 7], "small stages at the top, the last at the bottom"
    assert [block for stage in stages for block in stage] == blocks


def test_grad_cam_correlation_falls_as_layers_are_randomised(gradcam_run):
    result, _ = gradcam_run
    spearman = [stage.spearman for stage in result.stages]
    assert spearman[0] == 1.0 and result.stages[0].blocks == ()
    assert spearman[1] < 0.9, "randomising the classifier alone already changes Grad-CAM's map"
    assert max(spearman[2:]) < SPEARMAN_THRESHOLD, spearman
    assert result.stages[-1].blocks[-1] == "features.0", "the last step randomises every layer"
    assert result.target_label == "Egyptian cat", "every step explains the original model's top-1 class"
    assert result.passes
    assert result.verdict.startswith("Grad-CAM passes: randomising the weights destroys its map down to chance level")


def test_the_cached_model_is_never_changed(gradcam_run):
    _, untouched = gradcam_run
    assert untouched


def test_the_edge_detector_control_stays_the_same_and_fails(edges_run):
    assert [stage.spearman for stage in edges_run.stages] == pytest.approx([1.0] * 3)
    assert [stage.ssim for stage in edges_run.stages] == pytest.approx([1.0] * 3)
    assert not edges_run.passes
    assert edges_run.verdict.startswith("Edge detector (control) FAILS: its map stays the same")
    assert "It shows the image, not what the model learned" in edges_run.verdict
    record = edges_run.record()
    assert record["passes"] is False and record["verdict"] == edges_run.verdict
    assert [step["step"] for step in record["steps"]] == [0, 1, 2]
    assert record["steps"][-1]["randomised_now"][-1] == "features.0"


@pytest.mark.parametrize("repo", [TIMM_IMAGENET, TRANSFORMERS])
def test_hub_models_are_randomised_down_to_their_first_layer(fake_hub, repo, chelsea):
    model = load_model(repo)
    before = _weights(model.module)
    result = cascading_randomisation(model, chelsea, "Grad-CAM", steps=2)
    first_layer = next(name for name, _ in model.module.named_parameters()).rsplit(".", 1)[0]
    assert first_layer.startswith(result.stages[-1].blocks[-1]), (first_layer, result.stages[-1].blocks)
    assert len(result.stages) == 3 and all(np.isfinite([s.spearman, s.ssim]).all() for s in result.stages)
    assert _unchanged(model.module, before), "the cached model is never changed"


def test_pictures_one_overlay_per_step_and_a_plot(edges_run, chelsea):
    overlays = step_overlays(chelsea, edges_run)
    assert len(overlays) == 3 and all(o.ndim == 3 and o.std() > 20 for o in overlays)
    plot = similarity_plot(edges_run)
    assert plot.shape[2] == 3 and plot.shape[1] > 400 and plot.std() > 10


def test_randomise_is_seeded_and_leaves_the_global_random_state_alone(tiny_model):
    class Scaled(nn.Module):  # parameters but no reset_parameters(): noise of the same scale
        def __init__(self) -> None:
            super().__init__()
            self.gain = nn.Parameter(torch.full((64,), 3.0) + torch.linspace(-1, 1, 64))

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return inputs * self.gain.mean()

    copies = [nn.Sequential(copy.deepcopy(tiny_model.module), Scaled()) for _ in range(2)]
    state = torch.get_rng_state()
    for module in copies:
        randomise(module, ["0.0", "0.8", "1"], seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    first, second = (_weights(module) for module in copies)
    assert all(torch.equal(first[name], second[name]) for name in first)
    assert not torch.equal(first["0.0.weight"], tiny_model.module.state_dict()["0.weight"])
    assert torch.equal(first["0.3.weight"], tiny_model.module.state_dict()["3.weight"]), "only the named layers"
    assert 1.5 < float(first["1.gain"].mean()) < 4.5 and 0.2 < float(first["1.gain"].std()) < 1.5


def test_a_randomised_copy_does_not_enter_the_cost_model(tiny_model):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    copied = dataclasses.replace(tiny_model, module=copy.deepcopy(tiny_model.module))
    explain(copied, image, "gradcam", 0, record_timing=False)
    assert copied.module not in _measured


def test_identical_maps_score_one_and_a_blank_map_scores_zero():
    ramp = np.outer(np.arange(20.0), np.arange(30.0))
    assert similarity(ramp, -2 * ramp) == pytest.approx((1.0, 1.0)), "magnitudes are compared, not signs"
    assert similarity(ramp, np.zeros_like(ramp))[0] == 0.0


def test_cost_preview_counts_the_original_and_every_step(tiny_model):
    text = describe_cost(tiny_model, "Grad-CAM", {"preset": "fast"}, 3, 3, "cascade")
    assert text.startswith("Grad-CAM, 10 runs (cascade 10 (original + 3 steps x 3 seeds)): about 10 model evaluations")
    drawn = describe_cost(tiny_model, "edges", {}, 3, 2, "cascade,random_logit", drawing_per_step=1.0)
    assert "about 0 model evaluations, about 4.0 s here." in drawn, "the caller's drawing, once per step's picture"
    assert drawn.endswith("Ticking Smooth MPRT adds 30 runs (about 0.0 s)."), "the one costly check, named"


def test_the_default_report_leaves_smooth_mprt_to_the_user_and_shows_its_cost_when_chosen(tiny_model):
    default = describe_cost(tiny_model, "Grad-CAM", {"preset": "fast"}, 5, 3)
    assert default.startswith("Grad-CAM, 19 runs (cascade 16 (original + 5 steps x 3 seeds), random logit 3, ")
    assert "Efficient MPRT 0 (it reads the cascade's maps)" in default and "adds 40 runs" in default
    chosen = describe_cost(tiny_model, "Grad-CAM", {"preset": "fast"}, 5, 3, ["cascade", "smooth_mprt"])
    assert chosen.startswith("Grad-CAM, 56 runs (cascade 16 (original + 5 steps x 3 seeds), Smooth MPRT 40 (10 noisy")
    assert "Ticking" not in chosen


@pytest.mark.parametrize(
    ("method", "steps", "message"),
    [
        ("deep-taylor", 2, "Unknown method 'deep-taylor'. Choose one of: Grad-CAM"),
        ("Grad-CAM", 0, "Sanity check parameter 'steps' must be between 1 and 12; got 0"),
        ("Grad-CAM", 2.5, "'steps' must be a whole number, got 2.5"),
        ("Grad-CAM", None, "'steps' must be a number, got None"),
        ("Grad-CAM", 4, "tiny-cnn has 3 blocks of layers to randomise, so the sanity check can take at most 3 steps"),
    ],
    ids=["unknown-method", "zero-steps", "fractional-steps", "no-steps", "more-steps-than-blocks"],
)
def test_bad_inputs_get_a_clear_message(tiny_model, method, steps, message):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cascading_randomisation(tiny_model, image, method, steps=steps)


def test_a_presets_counts_shrink_to_fit_a_report_into_the_work_cap_but_given_counts_do_not(monkeypatch):
    """On a machine so fast that RISE's fast preset reaches 3,000 masks, 19 maps of it would pass the 20,000 cap."""
    monkeypatch.setenv("XAI_PRESETS", "sized")
    monkeypatch.delenv("XAI_MAX_MODEL_EVALUATIONS", raising=False)
    rise = get_method("RISE")
    machine = lambda: Machine(Throughput(1e12, 1e12), (224, 224))  # noqa: E731
    assert report_params(rise, {"preset": "fast"}, 1, machine)["nb_samples"] == 3000
    assert report_params(rise, {"preset": "fast"}, 19, machine)["nb_samples"] == 1000, "20,000 / 19 = 1,052"
    assert report_params(rise, {"preset": "fast", "nb_samples": 3000}, 19, machine)["nb_samples"] == 3000
