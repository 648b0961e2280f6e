"""Answers a repeated identical request from memory: a bounded cache of the result handlers' outputs.

Every handler it wraps is deterministic (stochastic methods take a seed, training runs are seeded), so the same
inputs give the same outputs, and a student pressing "Explain" twice, or a class reloading one shared link, should
not wait for the model again. A request is identified by its handler and its arguments, with uploaded files
identified by their content (Gradio gives each upload its own path). Entries hold only what the handler returned:
small arrays and the paths of files in the result folders; an entry whose files have since been cleaned up
(``outputs.files.KEEP_SECONDS``) is recomputed. The least recently used entries go beyond
``XAI_RESULT_CACHE_SIZE`` (default 32; 0 turns the cache off).
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr

from hub_models.assets import sha256_of
from outputs.files import results_root

Handler = TypeVar("Handler", bound=Callable[..., Any])

_entries: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def capacity() -> int:
    """How many results stay cached (``XAI_RESULT_CACHE_SIZE``, default 32)."""
    return max(0, int(os.environ.get("XAI_RESULT_CACHE_SIZE", "32")))


def cached_count() -> int:
    with _lock:
        return len(_entries)


def clear() -> None:
    with _lock:
        _entries.clear()


def _identity(value: Any) -> Hashable:
    """A hashable stand-in for an argument: a file by its content, containers element by element."""
    if isinstance(value, str) and os.path.isfile(value):
        return ("file", sha256_of(Path(value)))
    if isinstance(value, (list, tuple)):
        return tuple(_identity(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(key), _identity(item)) for key, item in value.items()))
    return (type(value).__name__, repr(value))


def _files_still_there(value: Any) -> bool:
    """Every result file the output names still exists (result folders are cleaned up after an hour)."""
    if isinstance(value, str) and value.startswith(str(results_root())):
        return Path(value).exists()
    if isinstance(value, (list, tuple)):
        return all(_files_still_there(item) for item in value)
    if isinstance(value, dict):
        return all(_files_still_there(item) for item in value.values())
    return True


def _request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
    """The arguments that define the result: all but the progress tracker Gradio passes."""
    positional = [value for value in args if not isinstance(value, gr.Progress)]
    named = {key: value for key, value in kwargs.items() if not isinstance(value, gr.Progress)}
    return _identity(positional), _identity(named)


def cached_result(handler: Handler) -> Handler:
    """``handler``'s outputs remembered per identical request."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if capacity() == 0:
            return handler(*args, **kwargs)
        key = (handler.__module__, handler.__qualname__, _request(args, kwargs))
        with _lock:
            hit = _entries.get(key)
            if hit is not None and _files_still_there(hit):
                _entries.move_to_end(key)
                return hit
        outputs = handler(*args, **kwargs)
        with _lock:
            _entries[key] = outputs
            _entries.move_to_end(key)
            while len(_entries) > capacity():
                _entries.popitem(last=False)
        return outputs

    return wrapped  # type: ignore[return-value]
