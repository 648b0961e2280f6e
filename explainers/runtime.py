"""Process-wide settings that make this stack safe and fast; the one place that imports TensorFlow.

* TensorFlow is imported by ``hub_models.tensorflow_runtime`` only (in the order that is safe beside PyTorch);
  ``import_xplique`` imports xplique after it.
* glibc's allocator makes batched inference slower as batches grow on small machines; three ``MALLOC_*`` settings,
  which only take effect at process start, fix it. ``ensure_fast_allocator`` re-executes the process with them.
* Training a small network (the MLP and LSTM tabs) is a long chain of tiny operations: a second torch thread costs
  more in synchronisation than it computes, and on a shared 2-core CPU the two threads wait for each other (20x
  slower under load, see benchmarks/RESULTS.md). ``torch_threads(1)`` runs such a block on one thread.
* The allocator settings keep every request's peak resident for good; ``within_memory_budget`` gives the free part
  back to the OS when the last request in flight ends, and between overlapping requests when the process holds more
  than ``XAI_MEMORY_BUDGET_MB``.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

from hub_models.tensorflow_runtime import import_tensorflow

log = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., Any])

FAST_ALLOCATOR = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "100000000000",
    "MALLOC_TOP_PAD_": "1000000000",
    # One arena per core: glibc's default (8 per core) lets each of Gradio's worker threads keep its own peak; with
    # 8 clients at once the process grew 1.4 -> 2.4 GiB over five rounds, and peaked 0.6 GiB higher.
    "MALLOC_ARENA_MAX": "2",
}


def ensure_fast_allocator() -> None:
    """Re-execute this Python process with the allocator settings unless they are already in force.

    Call it first thing in an entry point's ``__main__`` (app, benchmark); it returns only when they are set.
    """
    if all(os.environ.get(key) == value for key, value in FAST_ALLOCATOR.items()):
        return
    os.environ.update(FAST_ALLOCATOR)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


XPLIQUE_RUN = threading.RLock()
"""Held by every Xplique run, on a PyTorch or a Keras model: TensorFlow's switch between graphs and eager execution
is process-wide, Xplique's ``TorchWrapper`` turns eager execution on, and Keras models need graphs
(``explainers.xplique_keras``), so the runs take turns."""


@functools.cache
def import_xplique() -> ModuleType:
    """Import xplique (after TensorFlow, ``hub_models.tensorflow_runtime``) configured for CPU inference beside
    PyTorch."""
    tf = import_tensorflow()
    import xplique

    # Said once per wrapped model by design, and the eager mode it announces is what PyTorch models need.
    warnings.filterwarnings("ignore", message="TF is set to run eagerly")
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    log.info("xplique %s on TensorFlow %s", xplique.__version__, tf.__version__)
    return xplique


def retrace_xplique_random_functions() -> None:
    """Give every ``tf.function`` that Xplique's attribution classes hold as a static method a fresh trace.

    A random op inside a ``tf.function`` takes its seed when the function is traced, and a static method is traced
    once per process: after that its noise (SmoothGrad's, RISE's masks, LIME's and KernelSHAP's samples) no longer
    follows ``tf.random.set_seed``, so a seed would not decide a Keras model's map (graphs run there:
    ``explainers.xplique_keras``). Rewrapped after seeding, each is traced again, with the seed just set.
    """
    xplique = import_xplique()
    tf = import_tensorflow()
    function_type = type(tf.function(lambda: None))
    classes = [xplique.attributions.base.BlackBoxExplainer]
    for cls in classes:
        classes.extend(sub for sub in cls.__subclasses__() if sub not in classes)
        for name, value in list(vars(cls).items()):
            if isinstance(value, staticmethod) and isinstance(value.__func__, function_type):
                traced = value.__func__
                fresh = tf.function(traced.python_function, input_signature=traced.input_signature)
                setattr(cls, name, staticmethod(fresh))


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Torch's intra-op threads set to ``count`` inside the block (for the calling thread), restored after it."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def resident_megabytes() -> float:
    """This process's resident memory (``VmRSS``) in MiB; 0 where ``/proc`` is not available."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory_budget_megabytes() -> float:
    """``XAI_MEMORY_BUDGET_MB`` (default 2560): above it, memory freed by a finished request goes back to the OS.

    The default keeps the gradient methods' working set resident (about 2.1 GiB with MobileNetV2: the activations of
    a batch of 16 kept for the backward pass); trimming it after every request cost the next one 0.3 s.
    """
    return float(os.environ.get("XAI_MEMORY_BUDGET_MB", "2560"))


def trim_memory(above_megabytes: float = 0.0) -> bool:
    """Give the allocator's free memory back to the OS if the process holds more than ``above_megabytes``.

    ``FAST_ALLOCATOR`` turns glibc's automatic trimming off, so that the batches inside a request reuse memory
    instead of mapping and faulting it in again each time; but then the peak of every request (a gradient batch's
    activations, a detector's batch, an animation's frames) stays resident for good.
    """
    if sys.platform != "linux" or resident_megabytes() <= above_megabytes:
        return False
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return True


def trim_memory_above_budget() -> bool:
    """``trim_memory`` above ``XAI_MEMORY_BUDGET_MB``."""
    return trim_memory(memory_budget_megabytes())


_in_flight = 0
_in_flight_lock = threading.Lock()


def within_memory_budget(handler: Handler) -> Handler:
    """``handler``, then (also when it fails) freed memory back to the OS: all of it when no other wrapped request is
    running (the process returns to its resting size after every burst, however many users it served), or what is
    above the budget while others run (their working sets stay resident, so they keep their speed).

    Trimming costs the next large request its page faults again (up to ~0.3 s for a batch-16 gradient method, see
    benchmarks/RESULTS.md); a server that never goes idle trims only above the budget.
    """

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        global _in_flight
        with _in_flight_lock:
            _in_flight += 1
        try:
            return handler(*args, **kwargs)
        finally:
            with _in_flight_lock:
                _in_flight -= 1
                last = _in_flight == 0
            if last:
                trim_memory()
            else:
                trim_memory_above_budget()

    return wrapped  # type: ignore[return-value]
