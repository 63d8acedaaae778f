"""Rendered charts by ETag: a small in-process LRU.

The ETag is a digest of everything a picture shows (the child's values, the labels' language,
the view, the rule set's KMS lines, the renderer and style versions), so an entry can never be
stale: a changed measurement gives another ETag. Per worker process; about 100 kB per entry.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

MAX_ENTRIES = 128


def etag_for(*parts) -> str:
    """A strong ETag (quoted) for the given parts (str or bytes)."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return '"' + h.hexdigest()[:32] + '"'


class LRU:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


#: The process's chart cache.
CHARTS = LRU()


def cached(key: str, draw) -> bytes:
    """The bytes for ``key`` from the cache, else ``draw()`` (stored)."""
    value = CHARTS.get(key)
    if value is None:
        value = draw()
        CHARTS.put(key, value)
    return value
