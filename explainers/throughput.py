"""How fast a model runs here: the basis of every cost preview.

The model's raw throughput is measured once (about a second, a few on a large transformer). Each method adds its
own overhead (mask building, surrogate fits), so every finished run also records how long it took against what raw
throughput predicted; later previews of the same method on the same model use that measured factor.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from explainers.base import Cost
from explainers.runtime import XPLIQUE_RUN
from hub_models.keras_models import KERAS, framework_of
from hub_models.tensorflow_runtime import import_tensorflow


@dataclass(frozen=True)
class Throughput:
    """Images per second through the model: forward only, and forward + backward."""

    forward_per_s: float
    backward_per_s: float

    def seconds(self, cost: Cost) -> float:
        return cost.forward / self.forward_per_s + cost.backward / self.backward_per_s


_measured: weakref.WeakKeyDictionary[nn.Module, Throughput] = weakref.WeakKeyDictionary()
_overhead: weakref.WeakKeyDictionary[nn.Module, dict[str, float]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _fastest(run, repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` runs after a warm-up: the least disturbed by other processes."""
    run()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


CALL_SECONDS = 0.25
"""About how long one timed call of the measurement may take: a model too slow for a batch of 16 in that time (a
ViT-B here: ~0.2 s an image) is measured on a smaller batch, so that measuring never costs much more than a second
or two (the full 112 images took ~30 s on a ViT-B before its first explanation)."""


def measure(model: nn.Module, input_size: tuple[int, int], batch_size: int = 16) -> Throughput:
    """Batched throughput on channels-last inputs, as the methods feed the model, at ``batch_size`` or, for a model
    that takes more than ``CALL_SECONDS`` for such a batch, at the largest batch that fits it (one image at least;
    the batch a method would use on such a model makes calls of seconds either way); cached per model."""
    with _lock:
        if model in _measured:
            return _measured[model]

        def runs(batch: torch.Tensor) -> tuple:
            def forward() -> None:
                with torch.no_grad():
                    model(batch)

            def backward() -> None:
                if framework_of(model) == KERAS:  # its gradient is TensorFlow's: Keras methods run in Xplique
                    keras_input_gradient(model, batch)
                    return
                inputs = batch.clone().requires_grad_(True)
                model(inputs).sum().backward()

            return forward, backward

        one = torch.randn(1, 3, *input_size).contiguous(memory_format=torch.channels_last)
        single = _fastest(runs(one)[0], 1)  # a warm-up, then one image: what a batch would roughly cost per image
        size = max(1, min(batch_size, int(CALL_SECONDS / max(single, 1e-9))))
        forward, backward = runs(one.expand(size, -1, -1, -1).contiguous(memory_format=torch.channels_last))
        repeats = (3, 2) if size == batch_size else (2, 1)
        result = Throughput(size / _fastest(forward, repeats[0]), size / _fastest(backward, repeats[1]))
        _measured[model] = result
        return result


def keras_input_gradient(model: nn.Module, batch: torch.Tensor) -> None:
    """One forward + backward pass of a ``hub_models.keras_models.KerasClassifier`` (the gradient of its summed
    logits with respect to the NHWC input), as Xplique's gradient methods make it."""
    tf = import_tensorflow()
    inputs = tf.constant(batch.permute(0, 2, 3, 1).contiguous().numpy())

    @tf.function  # a graph, as Xplique's: CPU TensorFlow has no eager gradient for a grouped convolution
    def gradient(pixels: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            total = tf.reduce_sum(model.keras(pixels, training=False))
        return tape.gradient(total, pixels)

    with XPLIQUE_RUN, model.lock:
        tf.config.run_functions_eagerly(False)
        gradient(inputs)


def record_run(model: nn.Module, input_size: tuple[int, int], method: str, cost: Cost, seconds: float) -> None:
    """Remember how much slower (or faster) ``method`` ran than raw throughput predicts (a running average)."""
    if cost.evaluations == 0:
        return
    factor = seconds / max(measure(model, input_size).seconds(cost), 1e-9)
    with _lock:
        factors = _overhead.setdefault(model, {})
        factors[method] = factor if method not in factors else 0.5 * (factors[method] + factor)


def predicted_seconds(model: nn.Module, input_size: tuple[int, int], method: str, cost: Cost) -> float:
    """Raw-throughput time times this method's measured overhead on this model (1 until it has run once)."""
    raw = measure(model, input_size).seconds(cost)
    return raw * _overhead.get(model, {}).get(method, 1.0)
