"""Temporary hooks on a network: added for one block, removed when it ends, whatever ends it.

Every part of the suite that watches a network from inside (the CAMs' activations, the MLP's recorder, the sanity
check's execution order, batch-norm folding's pairing) adds its hooks through ``temporary_hooks``, so a method that
fails, a model that raises or a cancelled request never leaves a hook behind on a model the cache keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle


class Hooks:
    """The hooks added inside one ``temporary_hooks`` block."""

    def __init__(self) -> None:
        self._handles: list[RemovableHandle] = []

    def forward(self, module: nn.Module, hook: Callable[[nn.Module, Any, Any], Any]) -> None:
        """``hook(module, inputs, output)`` after each forward of ``module``; a value it returns replaces the output."""
        self._handles.append(module.register_forward_hook(hook))

    def forward_pre(self, module: nn.Module, hook: Callable[[nn.Module, Any], Any]) -> None:
        """``hook(module, inputs)`` before each forward of ``module``."""
        self._handles.append(module.register_forward_pre_hook(hook))

    def remove(self) -> None:
        while self._handles:
            self._handles.pop().remove()


@contextmanager
def temporary_hooks() -> Iterator[Hooks]:
    """``with temporary_hooks() as hooks: hooks.forward(module, fn); model(x)``: every hook added is removed at the
    end of the block, also when adding one, the forward pass or the caller raises."""
    hooks = Hooks()
    try:
        yield hooks
    finally:
        hooks.remove()
