"""Attention rollout and Chefer's transformer attribution: the attention they read, checked against independent
references, their maps against small numpy re-implementations, and their refusals on models without global attention.

The references never go through ``explainers.attention``: a numpy re-run of a timm block's softmax from its weights,
and transformers' own ``output_attentions=True`` (with ``retain_grad``, as Chefer et al.'s public code takes the
gradients). Random weights, one to three blocks: what is checked is the arithmetic, not what the weights learnt.
"""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
import transformers
from conftest import tiny_cnn, tiny_vit
from torch import nn

from explainers import METHODS, explain, validate_params
from explainers.attention import readout_row, recorded_attention, token_attention, upsampled
from explainers.base import Problem
from explainers.counting import CountingModel
from explainers.rollout import rollout
from explainers.transformer_attribution import relevance
from hub_models import LoadedModel, Preprocessing, UserInputError
from hub_models.hub import LogitsOnly

LABELS = [f"class {i}" for i in range(10)]


def frozen(module: nn.Module) -> nn.Module:
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def small(model_class, config_class, **extra) -> nn.Module:
    """A transformers classifier with 3 blocks of width 32 over a 32 px input in 8 px patches (a 4x4 grid)."""
    torch.manual_seed(0)
    config = config_class(
        num_hidden_layers=3, hidden_size=32, num_attention_heads=4, intermediate_size=64, image_size=32,
        patch_size=8, num_labels=10, **extra,
    )  # fmt: skip
    return frozen(model_class(config))


TRANSFORMERS = {
    "ViT": lambda: small(transformers.ViTForImageClassification, transformers.ViTConfig),
    "DeiT distilled": lambda: small(transformers.DeiTForImageClassificationWithTeacher, transformers.DeiTConfig),
    "DINOv2": lambda: small(transformers.Dinov2ForImageClassification, transformers.Dinov2Config),
    "DINOv2 with registers": lambda: small(
        transformers.Dinov2WithRegistersForImageClassification, transformers.Dinov2WithRegistersConfig
    ),
    "BEiT": lambda: small(
        transformers.BeitForImageClassification, transformers.BeitConfig, use_relative_position_bias=True
    ),
}
PREFIX = {"ViT": 1, "DeiT distilled": 2, "DINOv2": 1, "DINOv2 with registers": 5, "BEiT": 1}
"""Class token, + distillation token (DeiT), + 4 registers (DINOv2 with registers)."""


def problem_of(module: nn.Module, inputs: torch.Tensor, target: int = 3) -> Problem:
    return Problem(CountingModel(module, 1), inputs, np.zeros((1, 1, 3), np.uint8), target, 10)


def reference_rollout(attentions: list[np.ndarray], head_fusion: str, discard_ratio: float) -> np.ndarray:
    """Abnar & Zuidema's rollout in numpy, with jacobgil/vit-explain's head fusion and discard (the lowest entries
    of the whole fused matrix, except the class token's attention to itself), rows renormalised."""
    tokens = attentions[0].shape[-1]
    result = np.eye(tokens)
    for heads in attentions:
        fused = {"mean": np.mean, "max": np.max, "min": np.min}[head_fusion](heads.astype(np.float64), axis=0)
        flat = fused.reshape(-1)  # a view: zeroing it zeroes fused
        lowest = np.argsort(flat, kind="stable")[: int(tokens * tokens * discard_ratio)]
        flat[lowest[lowest != 0]] = 0.0
        mixed = (fused + np.eye(tokens)) / 2
        result = (mixed / mixed.sum(axis=1, keepdims=True)) @ result
    return result


def reference_chefer(attentions: list[np.ndarray], gradients: list[np.ndarray]) -> np.ndarray:
    """R = I; R += mean_h((dy/dA * A)^+) R per block: Chefer et al.'s gradient-weighted rule, in numpy."""
    result = np.eye(attentions[0].shape[-1])
    for heads, gradient in zip(attentions, gradients, strict=True):
        result = result + np.maximum(gradient.astype(np.float64) * heads, 0).mean(axis=0) @ result
    return result


def transformers_reference(model: nn.Module, inputs: torch.Tensor, target: int):
    """Attention and its gradients as transformers itself returns them: eager attention, ``output_attentions``,
    ``retain_grad`` on each returned tensor (as Chefer et al.'s public code does)."""
    model.set_attn_implementation("eager")
    try:
        with torch.enable_grad():
            output = model(pixel_values=inputs.clone().requires_grad_(True), output_attentions=True)
            for attention in output.attentions:
                attention.retain_grad()
            output.logits[0, target].backward()
        attentions = [a[0].detach().numpy() for a in output.attentions]
        gradients = [a.grad[0].numpy() for a in output.attentions]
    finally:
        model.set_attn_implementation("sdpa")
    return attentions, gradients


def close(ours: torch.Tensor | np.ndarray, reference: np.ndarray, tolerance: float = 1e-5) -> None:
    """Equal to ``tolerance`` of the reference's largest magnitude (float32 against float64)."""
    ours = np.asarray(ours, dtype=np.float64)
    scale = float(np.abs(reference).max())
    assert scale > 0
    np.testing.assert_allclose(ours, reference, rtol=0, atol=tolerance * scale)


@pytest.fixture(scope="module")
def vit() -> nn.Module:
    return frozen(tiny_vit(seed=2))


@pytest.fixture(scope="module")
def vit_inputs() -> torch.Tensor:
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def test_the_recorded_softmax_is_the_blocks_own_recomputed_in_numpy_and_the_logits_do_not_change(vit, vit_inputs):
    """Block 0 re-run in numpy from its weights (patch embedding, class token, positions, norm, q and k):
    the probabilities recorded from timm's eager path match, and recording changes no logit."""
    with torch.no_grad():
        fused_logits = vit(vit_inputs)
        with recorded_attention(vit) as record:
            eager_logits = vit(vit_inputs)
        tokens = vit.patch_embed(vit_inputs)
        tokens = vit._pos_embed(tokens)
    assert record.names == ["blocks.0.attn", "blocks.1.attn"]
    assert [tuple(p.shape) for p in record.probabilities] == [(1, 3, 17, 17)] * 2
    torch.testing.assert_close(eager_logits, fused_logits, rtol=1e-5, atol=1e-5)

    block = vit.blocks[0]
    x = tokens[0].numpy().astype(np.float64)
    normed = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + block.norm1.eps)
    normed = normed * block.norm1.weight.numpy() + block.norm1.bias.numpy()
    qkv = normed @ block.attn.qkv.weight.numpy().T + block.attn.qkv.bias.numpy()
    heads, width = block.attn.num_heads, block.attn.head_dim
    q, k = (
        qkv[:, i * heads * width : (i + 1) * heads * width].reshape(17, heads, width).transpose(1, 0, 2) for i in (0, 1)
    )
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(width)
    softmax = np.exp(scores - scores.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    close(record.probabilities[0][0], softmax, 1e-5)


def test_recording_restores_fused_attention_and_hooks_also_when_the_model_raises(vit_inputs):
    model = frozen(tiny_vit(seed=3, tripwire=True))
    assert all(block.attn.fused_attn for block in model.blocks)
    model.blocks[0].ls1.armed = True
    with pytest.raises(RuntimeError, match="the model failed"), recorded_attention(model) as record, torch.no_grad():
        assert not any(block.attn.fused_attn for block in model.blocks)
        model(vit_inputs)
    model.blocks[0].ls1.armed = False
    assert len(record.probabilities) == 1, "block 0's attention ran before the tripwire"
    assert all(block.attn.fused_attn for block in model.blocks)
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("name", list(TRANSFORMERS))
def test_transformers_attention_and_gradients_equal_transformers_own_and_sdpa_comes_back(name):
    model = TRANSFORMERS[name]()
    inputs = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    wrapped = LogitsOnly(model)
    assert model.config._attn_implementation == "sdpa"
    taken = token_attention(problem_of(wrapped, inputs, target=3), "test", gradients=True)
    assert model.config._attn_implementation == "sdpa"
    assert (taken.grid.prefix, taken.grid.height, taken.grid.width) == (PREFIX[name], 4, 4)

    attentions, gradients = transformers_reference(model, inputs, target=3)
    assert len(taken.probabilities) == len(attentions) == 3
    for ours, theirs in zip(taken.probabilities, attentions, strict=True):
        close(ours, theirs, 1e-6)
    for ours, theirs in zip(taken.gradients, gradients, strict=True):
        close(ours, theirs, 1e-5)

    # The maps, from transformers' own attention through the numpy rules.
    close(
        readout_row(relevance(taken.probabilities, taken.gradients), taken.grid),
        reference_chefer(attentions, gradients)[0, PREFIX[name] :].reshape(4, 4),
    )
    close(
        readout_row(rollout(taken.probabilities, "mean", 0.0), taken.grid),
        reference_rollout(attentions, "mean", 0.0)[0, PREFIX[name] :].reshape(4, 4),
    )


@pytest.mark.parametrize("head_fusion", ["mean", "max", "min"])
@pytest.mark.parametrize("discard_ratio", [0.0, 0.5, 0.9])
def test_rollout_equals_the_numpy_reference(vit, vit_inputs, head_fusion, discard_ratio):
    taken = token_attention(problem_of(vit, vit_inputs), "test")
    reference = reference_rollout([p.numpy() for p in taken.probabilities], head_fusion, discard_ratio)
    ours = rollout(taken.probabilities, head_fusion, discard_ratio)
    close(ours, reference)
    np.testing.assert_allclose(ours.sum(dim=1).numpy(), 1.0, atol=1e-5)  # rows stay distributions

    model = LoadedModel("vit", vit, Preprocessing((64, 64)), LABELS)
    image = np.random.default_rng(4).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    params = {"head_fusion": head_fusion, "discard_ratio": discard_ratio}
    result = explain(model, image, "rollout", target=0, params=params)
    problem = problem_of(vit, model.preprocessing.to_tensor(image))
    cells = reference_rollout([p.numpy() for p in token_attention(problem, "test").probabilities], **params)
    expected = upsampled(torch.from_numpy(cells[0, 1:].reshape(4, 4)).float(), (64, 64)).numpy()
    close(result.attribution, expected)
    assert result.evaluations == 1


def test_discarding_keeps_the_class_tokens_attention_to_itself():
    """vit-explain spares flat index 0, the [CLS, CLS] entry, and nothing else: a matrix whose lowest entry is
    there keeps it, and every other low entry goes."""
    attention = torch.full((1, 3, 3), 0.5)
    attention[0, 0, 0] = 0.01
    attention[0, 1, 2] = 0.02
    fused = rollout([attention], "mean", discard_ratio=2 / 9)  # the two lowest: [0, 0] spared, [1, 2] zeroed
    mixed = (torch.tensor([[0.01, 0.5, 0.5], [0.5, 0.5, 0.0], [0.5, 0.5, 0.5]]) + torch.eye(3)) / 2
    torch.testing.assert_close(fused, mixed / mixed.sum(dim=1, keepdim=True))


def test_chefer_is_class_specific_and_rollout_is_not(vit, vit_inputs):
    model = LoadedModel("vit", vit, Preprocessing((64, 64)), LABELS)
    image = np.random.default_rng(5).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    chefer = [explain(model, image, "chefer", target=t).attribution for t in range(4)]
    rolled = [explain(model, image, "rollout", target=t).attribution for t in range(2)]
    np.testing.assert_array_equal(rolled[0], rolled[1])
    for other in chefer[1:]:
        assert np.corrcoef(chefer[0].ravel(), other.ravel())[0, 1] < 0.99


def test_chefer_equals_the_numpy_reference_on_the_recorded_gradients(vit, vit_inputs):
    """The gradients through our recording equal those of a plain autograd run that keeps each tensor
    (``retain_grad``, as Chefer et al.'s code does), and the rule equals the numpy one."""
    taken = token_attention(problem_of(vit, vit_inputs, target=6), "test", gradients=True)
    kept: list[torch.Tensor] = []
    hooks = [block.attn.attn_drop.register_forward_hook(lambda _m, _i, out: kept.append(out)) for block in vit.blocks]
    for block in vit.blocks:
        block.attn.fused_attn = False
    try:
        with torch.enable_grad():
            logits = vit(vit_inputs.clone().requires_grad_(True))
            for attention in kept:
                attention.retain_grad()
            logits[0, 6].backward()
    finally:
        for block in vit.blocks:
            block.attn.fused_attn = True
        for hook in hooks:
            hook.remove()
    for ours, theirs in zip(taken.gradients, kept, strict=True):
        close(ours, theirs.grad[0].numpy(), 1e-5)
    reference = reference_chefer([a[0].detach().numpy() for a in kept], [a.grad[0].numpy() for a in kept])
    close(readout_row(relevance(taken.probabilities, taken.gradients), taken.grid), reference[0, 1:].reshape(4, 4))


def refused(model: LoadedModel, key: str, image: np.ndarray) -> tuple[str, str]:
    """The refusals of ``explain`` (the registry's family check) and of the method itself, which reads the attention
    it finds and stands on its own where a model's family is misread."""
    with pytest.raises(UserInputError) as by_explain:
        explain(model, image, key, target=0)
    problem = problem_of(model.module, model.preprocessing.to_tensor(image), target=0)
    with pytest.raises(UserInputError) as by_method:
        METHODS[key].attribute(problem, validate_params(METHODS[key], {}))
    for message in (str(by_explain.value), str(by_method.value)):
        named = message.split("apply")[-1]
        assert "Grad-CAM" in named and "RISE" in named and METHODS[key].name not in named, message
    return str(by_explain.value), str(by_method.value)


def test_a_cnn_is_refused_with_the_methods_that_apply():
    cnn = LoadedModel("cnn", tiny_cnn(), Preprocessing((32, 32)), LABELS)
    image = np.zeros((32, 32, 3), np.uint8)
    for key in ("rollout", "chefer"):
        _, own = refused(cnn, key, image)
        assert "no attention layers" in own


@pytest.mark.parametrize(
    "make",
    [
        lambda: timm.create_model("swin_tiny_patch4_window7_224", depths=(1, 1, 1, 1), num_classes=10),
        lambda: LogitsOnly(
            transformers.SwinForImageClassification(
                transformers.SwinConfig(depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8], embed_dim=16, num_labels=10)
            )
        ),
    ],
    ids=["timm", "transformers"],
)
def test_swin_is_refused_as_windowed_and_left_as_it_was(make):
    torch.manual_seed(0)
    swin = LoadedModel("swin", make(), Preprocessing((224, 224)), LABELS)
    before = [(getattr(m, "fused_attn", None), getattr(getattr(m, "config", None), "_attn_implementation", None))
              for m in swin.module.modules()]  # fmt: skip
    image = np.zeros((224, 224, 3), np.uint8)
    for key in ("rollout", "chefer"):
        _, own = refused(swin, key, image)
        assert "windowed" in own and "as in Swin" in own
    after = [(getattr(m, "fused_attn", None), getattr(getattr(m, "config", None), "_attn_implementation", None))
             for m in swin.module.modules()]  # fmt: skip
    assert after == before


def test_timm_distilled_deit_reads_the_class_token_past_its_two_prefix_tokens():
    torch.manual_seed(0)
    deit = frozen(timm.create_model("deit_tiny_distilled_patch16_224", depth=1, img_size=64, num_classes=10))
    inputs = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    taken = token_attention(problem_of(deit, inputs), "test", gradients=True)
    assert (taken.grid.prefix, taken.grid.height, taken.grid.width) == (2, 4, 4)
    reference = reference_chefer([p.numpy() for p in taken.probabilities], [g.numpy() for g in taken.gradients])
    close(readout_row(relevance(taken.probabilities, taken.gradients), taken.grid), reference[0, 2:].reshape(4, 4))


def test_chefers_map_through_explain_is_the_reference_rows_upsampled(vit):
    """``explain()`` carries the class token's row back through the blocks as a vector; the numpy reference
    multiplies the whole matrices."""
    model = LoadedModel("vit", vit, Preprocessing((64, 64)), LABELS)
    image = np.random.default_rng(6).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    result = explain(model, image, "chefer", target=2)
    taken = token_attention(problem_of(vit, model.preprocessing.to_tensor(image), target=2), "test", gradients=True)
    reference = reference_chefer([p.numpy() for p in taken.probabilities], [g.numpy() for g in taken.gradients])
    expected = upsampled(torch.from_numpy(reference[0, 1:].reshape(4, 4)).float(), (64, 64)).numpy()
    close(result.attribution, expected)
    assert result.evaluations == 1
