"""The one entry point to get a model: a spec string in, a cached ``LoadedModel`` out."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from hub_models.embedded import DEFAULT_MODEL, EMBEDDED_MODELS
from hub_models.errors import UserInputError
from hub_models.loaded_model import LoadedModel

_cache: OrderedDict[str, LoadedModel] = OrderedDict()
_lock = threading.Lock()


def cache_size() -> int:
    """How many models stay in memory (``XAI_MODEL_CACHE_SIZE``, default 3)."""
    return max(1, int(os.environ.get("XAI_MODEL_CACHE_SIZE", "3")))


def load_model(spec: str | None) -> LoadedModel:
    """Blank -> the embedded default; an embedded model's name -> that model. Least recently used models are evicted."""
    name = (spec or "").strip() or DEFAULT_MODEL
    with _lock:
        if name in _cache:
            _cache.move_to_end(name)
            return _cache[name]
        if name not in EMBEDDED_MODELS:
            raise UserInputError(
                f"Unknown model {name!r}. Available with no network: {', '.join(sorted(EMBEDDED_MODELS))} "
                "(leave the field blank for the default)."
            )
        model = EMBEDDED_MODELS[name]()
        _cache[name] = model
        while len(_cache) > cache_size():
            _cache.popitem(last=False)
        return model
