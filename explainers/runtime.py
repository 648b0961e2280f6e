"""Process-wide settings that make this stack safe and fast; the one place that imports TensorFlow.

* Importing TensorFlow before triton crashes the process (an LLVM symbol clash). ``import_xplique`` imports torch,
  torchvision's ops and timm (which load triton when it is installed) first, so no import order elsewhere matters.
* glibc's allocator makes batched inference slower as batches grow on small machines; three ``MALLOC_*`` settings,
  which only take effect at process start, fix it. ``ensure_fast_allocator`` re-executes the process with them.
* xplique's ``tf.data`` loops stall until TensorFlow's autotune tick when the CPU is busy; debug mode removes it.
* Training a small network (the MLP and LSTM tabs) is a long chain of tiny operations: a second torch thread costs
  more in synchronisation than it computes, and on a shared 2-core CPU the two threads wait for each other (20x
  slower under load, see benchmarks/RESULTS.md). ``torch_threads(1)`` runs such a block on one thread.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

log = logging.getLogger(__name__)

FAST_ALLOCATOR = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "100000000000",
    "MALLOC_TOP_PAD_": "1000000000",
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


@functools.cache
def import_xplique() -> ModuleType:
    """Import xplique (and TensorFlow) safely and configured for CPU inference beside PyTorch."""
    import timm  # noqa: F401  (loads triton, if present, before TensorFlow)
    import torch  # noqa: F401
    import torchvision.ops  # noqa: F401

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.set_visible_devices([], "GPU")
    tf.data.experimental.enable_debug_mode()
    import xplique

    # Said once per wrapped model by design, and the eager mode it announces is what PyTorch models need.
    warnings.filterwarnings("ignore", message="TF is set to run eagerly")
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    log.info("xplique %s on TensorFlow %s", xplique.__version__, tf.__version__)
    return xplique


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
