"""A bounded, thread-safe cache of loaded models: the least recently used go first, each key loads once at a time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoadingLru(Generic[T]):
    """At most ``capacity()`` values by key (read on every access, so a setting can change it).

    A key loads under its own lock: a slow download holds up neither the values already in memory nor other keys,
    and two requests for the same key load it once. A failed load leaves nothing behind."""

    def __init__(self, capacity: Callable[[], int]) -> None:
        self._capacity = capacity
        self._values: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()  # guards _values and _loading, never held while a value loads
        self._loading: dict[str, threading.Lock] = {}

    def keys(self) -> list[str]:
        """The keys in memory, least recently used first."""
        with self._lock:
            return list(self._values)

    def _recent(self, key: str) -> T | None:
        with self._lock:
            if key not in self._values:
                return None
            self._values.move_to_end(key)
            self._evict()
            return self._values[key]

    def _evict(self) -> None:
        """Drop the least recently used values beyond the capacity (``_lock`` held)."""
        while len(self._values) > max(1, self._capacity()):
            self._values.popitem(last=False)

    def get(self, key: str, load: Callable[[], T]) -> T:
        """The value of ``key``, loaded by ``load()`` unless it is in memory."""
        if (value := self._recent(key)) is not None:
            return value
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            if (value := self._recent(key)) is not None:  # another request loaded it while this one waited
                return value
            try:
                value = load()
                with self._lock:
                    self._values[key] = value
                    self._evict()
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            return value
