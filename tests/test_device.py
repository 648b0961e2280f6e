"""Where the models run: the device is chosen once; on a GPU the maps match the CPU's; ZeroGPU's decorator is
applied only where the ``spaces`` package exists. The CUDA test runs where a GPU is present (it was run on an H200)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explainers import explain
from hub_models import device
from hub_models.embedded import mobilenet_v2
from hub_models.examples import example_photo

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture
def chosen(monkeypatch):
    """``compute_device`` re-read under a patched environment, and forgotten again afterwards."""

    def choose(value: str | None) -> torch.device:
        if value is None:
            monkeypatch.delenv("XAI_DEVICE", raising=False)
        else:
            monkeypatch.setenv("XAI_DEVICE", value)
        device.compute_device.cache_clear()
        return device.compute_device()

    yield choose
    device.compute_device.cache_clear()


def test_the_device_is_cuda_when_present_unless_xai_device_says_otherwise(chosen):
    assert chosen(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert chosen("cpu") == torch.device("cpu")


def test_on_the_cpu_a_model_is_left_exactly_as_it_was():
    module = nn.Linear(3, 2)
    placed = device.place(module, torch.device("cpu"))
    assert placed is module
    assert not module._forward_pre_hooks and not module._forward_hooks


def test_without_the_spaces_package_handlers_are_not_wrapped():
    def handler() -> int:
        return 1

    try:
        import spaces  # noqa: F401
    except ImportError:
        assert device.gpu_task(handler) is handler
    else:
        assert device.gpu_task(handler) is not handler


@CUDA
@pytest.mark.parametrize(("method", "tolerance"), [("gradcam", 1e-3), ("rise", 1e-3), ("occlusion", 1e-3)])
def test_maps_on_the_gpu_match_the_cpu(chosen, method, tolerance):
    image = example_photo("chelsea")
    chosen("cuda")
    on_gpu = mobilenet_v2()
    assert next(on_gpu.module.parameters()).is_cuda
    chosen("cpu")
    on_cpu = mobilenet_v2()
    params = {"preset": "fast", "seed": 3} if method == "rise" else {"preset": "fast"}
    maps = [explain(model, image, method, None, params).attribution for model in (on_gpu, on_cpu)]
    scale = float(np.abs(maps[1]).max())
    np.testing.assert_allclose(maps[0], maps[1], atol=tolerance * scale)


@CUDA
def test_faithfulness_scores_on_the_gpu_match_the_cpu(chosen):
    from explainers.faithfulness import FaithfulnessSettings, faithfulness

    image = example_photo("chelsea")
    chosen("cuda")
    on_gpu = mobilenet_v2()
    chosen("cpu")
    on_cpu = mobilenet_v2()
    result = explain(on_cpu, image, "gradcam", None, {})
    attribution = result.input_map
    inputs = on_cpu.preprocessing.to_tensor(image)
    settings = FaithfulnessSettings(steps=10, mufidelity_samples=32)
    gpu, cpu = (faithfulness(m.module, inputs, result.target, attribution, settings) for m in (on_gpu, on_cpu))
    assert gpu.deletion == pytest.approx(cpu.deletion, abs=1e-3)
    assert gpu.insertion == pytest.approx(cpu.insertion, abs=1e-3)
    assert gpu.mufidelity == pytest.approx(cpu.mufidelity, abs=0.05)


def test_placing_a_module_twice_adds_no_second_pair_of_hooks():
    """The sanity check's randomised copy is a deep copy (hooks included) that is placed again."""
    module = nn.Linear(3, 2)
    meta = torch.device("meta")  # a non-CPU device every machine has
    device.place(module, meta)
    device.place(module, meta)
    assert len(module._forward_pre_hooks) == 1 and len(module._forward_hooks) == 1
    assert module.weight.device == meta
