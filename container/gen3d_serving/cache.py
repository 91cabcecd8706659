"""A bounded in-memory LRU for image embeddings (bounded by entry count and by bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class EmbeddingCache:
    def __init__(self, max_bytes: int, max_entries: int):
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, value: Any, size_bytes: int) -> None:
        if self._max_entries <= 0 or size_bytes > self._max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size_bytes)
            self._bytes += size_bytes
            while self._items and (len(self._items) > self._max_entries or self._bytes > self._max_bytes):
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes
