"""The one entry point to get a model: a spec string in, a cached ``LoadedModel`` out."""

from __future__ import annotations

import os

from hub_models.embedded import DEFAULT_MODEL, EMBEDDED_MODELS
from hub_models.errors import UserInputError
from hub_models.hub import load_hub_model, parse_spec
from hub_models.keras_models import KERAS_PREFIX
from hub_models.loaded_model import LoadedModel
from hub_models.lru import LoadingLru


def cache_size() -> int:
    """How many models of each kind (classifiers, detectors) stay in memory (``XAI_MODEL_CACHE_SIZE``, default 3)."""
    return max(1, int(os.environ.get("XAI_MODEL_CACHE_SIZE", "3")))


_cache: LoadingLru[LoadedModel] = LoadingLru(cache_size)


def normalise_spec(spec: str | None) -> str:
    """Blank -> the default's name; an embedded name as is; a Hub id checked (no request) as ``org/name[@rev]``, or
    ``keras:org/name[@rev]`` (the timm checkpoint in Keras: cached apart from the PyTorch one)."""
    name = (spec or "").strip() or DEFAULT_MODEL
    if name in EMBEDDED_MODELS:
        return name
    if "/" in name or name.startswith(KERAS_PREFIX):
        return parse_spec(name).key
    shown = name if len(name) <= 80 else name[:77] + "..."
    raise UserInputError(
        f"Unknown model {shown!r}. Give a Hugging Face Hub id such as 'timm/resnet50.a1_in1k' (optionally "
        f"'@revision'; 'keras:timm/resnet50.a1_in1k' runs it in Keras), or one of the models that work with no "
        f"network: {', '.join(sorted(EMBEDDED_MODELS))} (leave the field blank for the default)."
    )


def cached_specs() -> list[str]:
    """The normalised specs in memory, least recently used first."""
    return _cache.keys()


def load_model(spec: str | None) -> LoadedModel:
    """Blank -> the embedded default; an embedded model's name -> that model; ``org/name[@revision]`` -> a Hub model
    (``keras:org/name[@revision]``: a timm checkpoint in Keras).

    The least recently used models are evicted beyond ``cache_size()``. A model is loaded under its own lock, so a
    slow download never holds up the models already in memory, and two requests for it load it once.
    """
    name = normalise_spec(spec)
    return _cache.get(name, lambda: EMBEDDED_MODELS[name]() if name in EMBEDDED_MODELS else load_hub_model(name))
