"""Presets sized to the machine they run on.

A method's count (RISE's masks, Integrated Gradients' steps, LIME's samples, ...) fixes both how good its map is and
what it costs, and the same count takes 3-5x longer on a 2-core CPU without AVX-512 than on the machine the reference
counts were chosen on. So the *fast* and *default* presets are a time, not a count: the count whose predicted cost,
from the model's throughput measured on this machine, fits about ``PRESET_SECONDS`` (2 s and 8 s), within the
parameter's sensible range (``Param.sized``), rounded down to two significant figures. The counts, not the preset,
are what a run records (the manifest's parameters), so a replay repeats the same work on any machine.

``XAI_PRESETS=reference`` keeps the reference counts (``Param.fast`` and ``Param.default``) instead: for numbers that
must not depend on the machine (tests, benchmarks).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from explainers.base import Method, Param
from explainers.throughput import Throughput, measure
from hub_models.loaded_model import FrozenModel

PRESETS = ("fast", "default")
PRESET_SECONDS = {"fast": 2.0, "default": 8.0}
"""What each preset aims to take here: a click's answer, and a careful map that is still worth waiting for."""
SEED_PARAM = Param("seed", int, default=0, fast=0, minimum=0, maximum=2**31 - 1, help="Random seed.")


@dataclass(frozen=True)
class Machine:
    """How fast a model runs here, at its input size: what presets are sized against."""

    throughput: Throughput
    input_size: tuple[int, int]


def all_params(method: Method) -> tuple[Param, ...]:
    """The method's parameters, and its seed when it draws random numbers."""
    return (*method.params, SEED_PARAM) if method.stochastic else method.params


def sizing_enabled() -> bool:
    """False under ``XAI_PRESETS=reference``: presets keep their reference counts."""
    return os.environ.get("XAI_PRESETS", "sized").strip().lower() != "reference"


def _two_figures_down(count: int) -> int:
    """1234 -> 1200, 187 -> 180, 95 -> 95: a count that reads as chosen, never above ``count``."""
    step = 10 ** max(0, int(math.log10(count)) - 1) if count > 0 else 1
    return count // step * step


def sized_count(method: Method, param: Param, values: dict[str, Any], seconds: float, machine: Machine) -> int:
    """The largest count in ``param.sized`` whose predicted cost fits ``seconds``, the other parameters at
    ``values`` (the cost grows with the count: a bisection finds it)."""
    low, high = bounds = param.sized or (param.minimum, param.maximum)

    def fits(count: int) -> bool:
        return machine.throughput.seconds(method.cost({**values, param.name: count}, machine.input_size)) <= seconds

    if not fits(low):
        return int(low)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    if param.power_of_two:
        return max(int(bounds[0]), 1 << (int(low).bit_length() - 1))  # the largest power of two that fits
    if low == bounds[1]:
        return int(low)  # the maximum: a number chosen already
    return max(int(bounds[0]), _two_figures_down(int(low)))


def preset_values(method: Method, preset: str, machine: Callable[[], Machine] | None = None) -> dict[str, Any]:
    """Every parameter at ``preset``: the reference values, with each sized count sized to ``machine()`` (asked
    only when the method has a sized count and sizing is on; ``None``: the reference counts)."""
    values = {param.name: param.preset(preset) for param in all_params(method)}
    sized = [param for param in all_params(method) if param.sized]
    if sized and machine is not None and sizing_enabled():
        measured = machine()
        for param in sized:
            values[param.name] = sized_count(method, param, values, PRESET_SECONDS[preset], measured)
    return values


def machine_of(model: FrozenModel, batch_size: int = 16) -> Callable[[], Machine]:
    """``model``'s speed here, measured when first asked (``explainers.throughput`` keeps it for the process)."""
    size = model.preprocessing.input_size
    return lambda: Machine(measure(model.module, size, batch_size), size)
