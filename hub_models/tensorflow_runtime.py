"""The one place that imports TensorFlow, Keras and KerasHub: in the order that is safe beside PyTorch, configured
for CPU inference, once, when first needed (or ahead of time: the app imports them behind the page once it is warm,
``app.preload_tensorflow``).

* Importing TensorFlow before triton crashes the process (an LLVM symbol clash). ``import_tensorflow`` imports torch,
  torchvision's ops and timm (which load triton when it is installed) first, so no import order elsewhere matters.
* TensorFlow is kept off any GPU: torch owns it.
* xplique's ``tf.data`` loops stall until TensorFlow's autotune tick when the CPU is busy; debug mode removes it.
* Importing TensorFlow, Keras, KerasHub and Xplique takes 10-20 s on a small machine (benchmarks/RESULTS.md): the app
  starts without them and imports them on a background thread once it serves, so that the first Keras model or
  Xplique method does not wait for them, and the first PyTorch explanation does not either.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from types import ModuleType

log = logging.getLogger(__name__)
_lock = threading.Lock()


@functools.cache
def _tensorflow() -> ModuleType:
    import timm  # noqa: F401  (loads triton, if present, before TensorFlow)
    import torch  # noqa: F401
    import torchvision.ops  # noqa: F401

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    tf.config.set_visible_devices([], "GPU")
    tf.data.experimental.enable_debug_mode()
    log.info("TensorFlow %s imported", tf.__version__)
    return tf


def import_tensorflow() -> ModuleType:
    """TensorFlow, imported safely (one thread imports it; the others wait for that import)."""
    with _lock:
        return _tensorflow()


def import_keras_hub() -> ModuleType:
    """KerasHub (and Keras 3 on the TensorFlow backend)."""
    import_tensorflow()
    with _lock:
        import keras_hub

    return keras_hub
