"""Where the models run: CUDA when the machine has it (or ``XAI_DEVICE``), the CPU otherwise; chosen once.

The boundary is the model itself: a model placed on a GPU gets two hooks that move its inputs there and its output
back, so every method keeps building masks, baselines and maps on the CPU and only the network's work moves. Layer
names stay as they are (Grad-CAM and the sanity check address layers by name), and a deep copy keeps the hooks.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


@functools.cache
def compute_device() -> torch.device:
    """``XAI_DEVICE`` if set (``cpu``, ``cuda``, ``cuda:1``...), else CUDA when available, else the CPU."""
    chosen = torch.device(os.environ.get("XAI_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))
    if chosen.type == "cuda":
        # Full float32: TF32 convolutions shift logits by ~1e-3, which differences of scores (occlusion) magnify.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    return chosen


def _to(device: torch.device) -> Callable[[Any], Any]:
    def move(value: Any) -> Any:
        if torch.is_tensor(value):
            return value.to(device)
        if isinstance(value, tuple):
            return tuple(move(item) for item in value)
        return value

    return move


def place(module: nn.Module, device: torch.device | None = None) -> nn.Module:
    """``module`` on ``device`` (default: ``compute_device()``), taking and returning CPU tensors; as is on the CPU.
    Placing a module twice (a deep copy keeps the hooks, e.g. the sanity check's randomised copy) adds nothing."""
    device = device or compute_device()
    if device.type == "cpu" or getattr(module, "_xai_placed_on", None) == device:
        return module
    module._xai_placed_on = device
    module.to(device)
    to_device, to_cpu = _to(device), _to(torch.device("cpu"))
    module.register_forward_pre_hook(lambda _module, args: to_device(args))
    module.register_forward_hook(lambda _module, _args, output: to_cpu(output))
    return module


def gpu_task(function: Callable[..., Any]) -> Callable[..., Any]:
    """A request handler that needs the GPU: ``spaces.GPU`` on a ZeroGPU Space (the ``spaces`` package is there),
    which lends the handler a GPU for the call; unchanged everywhere else."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(function)
