"""Batch norms folded into their convolutions at load: the same model, faster; put back wherever it would not be."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.ops
from timm.layers import BatchNormAct2d
from torch import nn

from explainers import explain
from explainers.agreement import correlation
from explainers.cam import resolve_layer
from hub_models import load_model
from hub_models.embedded import mobilenet_v2
from hub_models.folding import fold_batch_norms
from tests.fake_hub import TIMM_IMAGENET, TRANSFORMERS


@pytest.fixture(scope="module")
def published():
    """MobileNetV2 as torchvision publishes it: XAI_FOLD_BATCH_NORM=0."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XAI_FOLD_BATCH_NORM", "0")
        return mobilenet_v2()


def _norms(module: nn.Module) -> int:
    return sum(isinstance(layer, nn.BatchNorm2d) for layer in module.modules())


def _with_statistics(norm: nn.Module, seed: int) -> nn.Module:
    """A norm with running statistics and an affine map far from the identity, so a wrong fold shows."""
    generator = torch.Generator().manual_seed(seed)
    channels = norm.running_mean.numel()
    with torch.no_grad():
        norm.running_mean.copy_(torch.randn(channels, generator=generator))
        norm.running_var.copy_(torch.rand(channels, generator=generator) * 3 + 0.2)
        norm.weight.copy_(torch.randn(channels, generator=generator))
        norm.bias.copy_(torch.randn(channels, generator=generator))
    return norm


def _folded_copy(module: nn.Module) -> tuple[list[tuple[str, str]], torch.Tensor, torch.Tensor]:
    """(pairs folded, output before, output after) of ``module`` in eval mode on a fixed 16x16 input."""
    module.eval()
    inputs = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = module(inputs)
        pairs = fold_batch_norms(module, (16, 16))
        return pairs, before, module(inputs)


def test_mobilenet_folds_all_52_norms_and_keeps_its_predictions(mobilenet, published, chelsea):
    assert mobilenet.source["batch_norms_folded"] == "52" and published.source["batch_norms_folded"] == "0"
    assert _norms(mobilenet.module) == 0 and _norms(published.module) == 52
    inputs = mobilenet.preprocessing.to_tensor(chelsea)
    with torch.no_grad():
        ours, theirs = mobilenet.module(inputs), published.module(inputs)
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-4 * float(theirs.abs().max())), (ours - theirs).abs().max()
    assert [c for c, *_ in mobilenet.top_k(chelsea)] == [c for c, *_ in published.top_k(chelsea)]
    assert dict(mobilenet.module.named_modules()).keys() == dict(published.module.named_modules()).keys()
    published_parameters = sum(parameter.numel() for parameter in published.module.parameters())
    assert mobilenet.source["parameters"] == str(published_parameters) == "3504872", "the count as published"
    assert published_parameters != sum(parameter.numel() for parameter in mobilenet.module.parameters())


@pytest.mark.parametrize(("method", "least"), [("gradcam", 0.9999), ("integrated_gradients", 0.999), ("rise", 0.999)])
def test_explanations_of_the_folded_model_are_the_published_models(mobilenet, published, chelsea, method, least):
    params = {"preset": "fast"}
    ours = explain(mobilenet, chelsea, method, target=285, params=params).attribution
    theirs = explain(published, chelsea, method, target=285, params=params).attribution
    assert correlation(ours, theirs) >= least


def test_the_default_cam_layer_keeps_its_name(mobilenet, published, chelsea):
    inputs = mobilenet.preprocessing.to_tensor(chelsea)
    assert resolve_layer(mobilenet.module, inputs, "") == resolve_layer(published.module, inputs, "") == "features.18.2"


def test_torchvision_frozen_and_timm_activation_norms_fold():
    frozen = nn.Sequential(nn.Conv2d(3, 6, 3), _with_statistics(torchvision.ops.FrozenBatchNorm2d(6), 2), nn.ReLU())
    with_act = nn.Sequential(nn.Conv2d(3, 6, 3, bias=False), _with_statistics(BatchNormAct2d(6, act_layer=nn.ReLU), 3))
    for module in (frozen, with_act):
        pairs, before, after = _folded_copy(module)
        assert pairs == [("0", "1")]
        assert torch.allclose(after, before, atol=1e-5), (after - before).abs().max()
    assert isinstance(frozen[1], nn.Identity)
    assert isinstance(with_act[1][-1], nn.ReLU) and float(after.min()) == 0.0, "the norm's own ReLU is kept"


class SkipBeforeNorm(nn.Module):
    """The convolution's output is used twice: by the norm and by a skip connection around it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = _with_statistics(nn.BatchNorm2d(4), 4)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.conv(inputs)
        return self.norm(features) + features


class StandardisedConv(nn.Conv2d):
    """Standardises its weight in ``forward`` (as weight-standardised ResNets do): folded weights would be undone."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        weight = (self.weight - self.weight.mean(dim=(1, 2, 3), keepdim=True)) / self.weight.std(
            dim=(1, 2, 3), keepdim=True
        )
        return self._conv_forward(inputs, weight, self.bias)


class SharedConv(nn.Module):
    """One convolution run twice, each time before its own norm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.first, self.second = _with_statistics(nn.BatchNorm2d(3), 5), _with_statistics(nn.BatchNorm2d(3), 6)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.second(self.conv(self.first(self.conv(inputs))))


def standardised_then_norm() -> nn.Module:
    return nn.Sequential(StandardisedConv(3, 4, 3), _with_statistics(nn.BatchNorm2d(4), 7))


@pytest.mark.parametrize(
    "make",
    [SkipBeforeNorm, standardised_then_norm, SharedConv],
    ids=["skip-before-norm", "weight-standardised-conv", "shared-conv"],
)
def test_models_that_folding_would_change_stay_as_published(make):
    module = make()
    weights = {name: value.clone() for name, value in module.state_dict().items()}
    pairs, before, after = _folded_copy(module)
    assert pairs == []
    assert torch.equal(after, before)
    assert _norms(module) == sum(isinstance(layer, nn.BatchNorm2d) for layer in make().modules()) > 0
    assert all(torch.equal(value, weights[name]) for name, value in module.state_dict().items())


def test_folding_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("XAI_FOLD_BATCH_NORM", "0")
    module = nn.Sequential(nn.Conv2d(3, 4, 3), _with_statistics(nn.BatchNorm2d(4), 8))
    assert _folded_copy(module)[0] == [] and _norms(module) == 1


@pytest.mark.parametrize("repo", [TIMM_IMAGENET, TRANSFORMERS])
def test_hub_models_fold_their_norms(fake_hub, repo, chelsea):
    model = load_model(repo)
    assert int(model.source["batch_norms_folded"]) > 0
    assert _norms(model.module) == 0
    assert np.isclose(model.probabilities(chelsea).sum(), 1.0)
