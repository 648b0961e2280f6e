"""CAMs on vision transformers: the token sequence made a grid, the layer pytorch-grad-cam's ViT tutorial explains,
and maps equal to pytorch-grad-cam's with its reshape transform on the same model and layer.

Random weights, one or two blocks, published widths, patch and window sizes: the code path is the one a real
checkpoint takes; the agreement does not depend on what the weights learnt.
"""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
import transformers
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from explainers import grad_cam, grad_cam_pp
from explainers.base import CNN, SWIN, VIT, Problem
from explainers.cam import known_feature_maps, resolve_layer
from explainers.families import family_of
from explainers.tokens import TokenGrid, layout, token_grid
from hub_models.errors import UserInputError
from hub_models.hub import LogitsOnly


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def _timm(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    return _frozen(timm.create_model(name, num_classes=10, **kwargs))


def _transformers(model_class, config) -> nn.Module:
    torch.manual_seed(0)
    return _frozen(LogitsOnly(model_class(config)))


# (model, input size, prefix tokens, grid, the default layer's name)
MODELS = {
    "timm ViT": (lambda: _timm("vit_small_patch16_224", depth=2), (224, 224), 1, (14, 14), "blocks.1.norm1"),
    "timm ViT 192x256": (
        lambda: _timm("vit_small_patch16_224", depth=1, img_size=(192, 256)),
        (192, 256),
        1,
        (12, 16),
        "blocks.0.norm1",
    ),
    "timm DeiT distilled": (
        lambda: _timm("deit_small_distilled_patch16_224", depth=1),
        (224, 224),
        2,
        (14, 14),
        "blocks.0.norm1",
    ),
    "timm Swin": (
        lambda: _timm("swin_tiny_patch4_window7_224", depths=(1, 1, 1, 1)),
        (224, 224),
        0,
        (7, 7),
        "layers.3.blocks.0.norm1",
    ),
    "transformers ViT": (
        lambda: _transformers(
            transformers.ViTForImageClassification, transformers.ViTConfig(num_hidden_layers=1, num_labels=10)
        ),
        (224, 224),
        1,
        (14, 14),
        "model.vit.layers.0.layernorm_before",
    ),
    "transformers DeiT distilled": (
        lambda: _transformers(
            transformers.DeiTForImageClassificationWithTeacher,
            transformers.DeiTConfig(num_hidden_layers=1, hidden_size=384, num_attention_heads=6, num_labels=10),
        ),
        (224, 224),
        2,
        (14, 14),
        "model.deit.layers.0.layernorm_before",
    ),
    "transformers Swin": (
        lambda: _transformers(
            transformers.SwinForImageClassification, transformers.SwinConfig(depths=[1, 1, 1, 1], num_labels=10)
        ),
        (224, 224),
        0,
        (7, 7),
        "model.swin.encoder.layers.3.blocks.0.layernorm_before",
    ),
}


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    build, size, prefix, grid, layer = MODELS[request.param]
    model = build()
    inputs = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(1))
    target = int(model(inputs).argmax())
    return model, inputs, target, prefix, grid, layer


def _reshape_transform(prefix: int, grid: tuple[int, int]):
    """pytorch-grad-cam's ViT/Swin tutorial transform: drop the prefix tokens, tokens -> grid, channels first."""

    def transform(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.ndim == 4:  # timm's Swin stages are channels-last grids already
            return tensor.permute(0, 3, 1, 2)
        return tensor[:, prefix:, :].reshape(tensor.size(0), *grid, tensor.size(2)).permute(0, 3, 1, 2)

    return transform


@pytest.mark.parametrize("ours, peer", [(grad_cam, GradCAM), (grad_cam_pp, GradCAMPlusPlus)], ids=["gradcam", "pp"])
def test_cams_on_transformers_equal_pytorch_grad_cam_with_its_reshape_transform(case, ours, peer):
    model, inputs, target, prefix, grid, layer = case
    assert resolve_layer(model, inputs, "") == layer
    problem = Problem(model=model, inputs=inputs, rgb=np.zeros(0), target=target, n_classes=10)
    cam = ours.attribute(problem, {"layer": ""})
    transform = _reshape_transform(prefix, grid)
    with peer(model=model, target_layers=[model.get_submodule(layer)], reshape_transform=transform) as reference:
        leaf = inputs.clone().requires_grad_(True)  # the weights are frozen: the gradient starts at the input
        expected = reference(input_tensor=leaf, targets=[ClassifierOutputTarget(target)])
    assert cam.shape == tuple(inputs.shape[-2:])
    assert np.corrcoef(cam.ravel(), expected[0].ravel())[0, 1] >= 0.999


def test_the_grid_of_a_token_sequence():
    assert token_grid(197, (224, 224)) == TokenGrid(1, 14, 14)  # ViT/16: class token + 14x14
    assert token_grid(198, (224, 224)) == TokenGrid(2, 14, 14)  # DeiT distilled: class + distillation
    assert token_grid(261, (224, 224)) == TokenGrid(5, 16, 16)  # DINOv2/14 with 4 registers
    assert token_grid(49, (224, 224)) == TokenGrid(0, 7, 7)  # Swin's last stage
    assert token_grid(193, (192, 256)) == TokenGrid(1, 12, 16)  # not square: the input's aspect ratio
    assert token_grid(50, (224, 224)) == TokenGrid(1, 7, 7)
    # Tensors that are not a map of the image: attention keys and probabilities, a pooled vector, a 1x1 map.
    assert layout((1, 6, 197, 64), (224, 224)) is None
    assert layout((1, 6, 197, 197), (224, 224)) is None
    assert layout((1, 384), (224, 224)) is None
    assert layout((1, 1280, 1, 1), (224, 224), strict=False) is None
    # A CNN's map without an integer stride (Inception's 73x73 of 299 px) counts only under the CNN's loose rule.
    assert layout((1, 64, 73, 73), (299, 299), strict=False) == "channels-first"
    assert layout((1, 64, 73, 73), (299, 299)) is None


def test_no_cam_explains_a_tensor_that_is_not_a_map_of_the_image():
    model = _timm("vit_small_patch16_224", depth=1)
    inputs = torch.zeros(1, 3, 224, 224)
    maps = known_feature_maps(model, inputs)
    assert not any(name.endswith(("q_norm", "k_norm", "attn_drop")) for name in maps.layouts)
    with pytest.raises(UserInputError, match=r"blocks\.0\.attn\.k_norm.*not a spatial map.*blocks\.0\.norm1"):
        resolve_layer(model, inputs, "blocks.0.attn.k_norm")


def test_a_layer_whose_gradients_are_all_zero_is_refused_with_a_layer_that_works():
    """After the last block, only the class token reaches a class-token head: the patch tokens' map would be blank."""
    model = _timm("vit_small_patch16_224", depth=1)
    inputs = torch.randn(1, 3, 224, 224)
    problem = Problem(model=model, inputs=inputs, rgb=np.zeros(0), target=0, n_classes=10)
    with pytest.raises(UserInputError, match=r"Every gradient .* layer norm is zero.*default layer, blocks\.0\.norm1"):
        grad_cam.attribute(problem, {"layer": "norm"})


@pytest.mark.parametrize(
    "name, family",
    [
        ("timm ViT", VIT),
        ("timm DeiT distilled", VIT),
        ("timm Swin", SWIN),
        ("transformers ViT", VIT),
        ("transformers Swin", SWIN),
    ],
)
def test_the_family_is_read_from_the_network(name, family):
    build, size, *_ = MODELS[name]
    assert family_of(build(), torch.zeros(1, 3, *size)) == family


def test_a_cnn_is_a_cnn_also_with_channels_last_blocks(tiny_model):
    assert family_of(tiny_model.module, torch.zeros(1, 3, *tiny_model.preprocessing.input_size)) == CNN
    convnext = _timm("convnext_tiny", depths=(1, 1, 1, 1))  # LayerNorm on (B, h, w, C) inside each block
    assert family_of(convnext, torch.zeros(1, 3, 224, 224)) == CNN
