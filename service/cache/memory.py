"""The in-process LRU cache with a TTL (the default without Redis)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from service.cache.base import count_lookups
from service.cache.keys import decode, encode
from service.core.metrics import Metrics
from service.inference.outputs import RawScore


class MemoryCache:
    """LRU with a TTL, for one process; stores the encoded bytes so hits return fresh arrays."""

    backend = "memory"

    def __init__(self, n_classes: int, max_entries: int, ttl_s: float, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._n_classes, self._max, self._ttl, self._metrics = n_classes, max_entries, ttl_s, metrics
        self.clock = clock  # seconds, for the TTL

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]:
        now = self.clock()
        out: list[RawScore | None] = []
        for key in keys:
            entry = self._data.get(key)
            if entry is not None and entry[0] < now:
                del self._data[key]
                entry = None
            if entry is None:
                out.append(None)
            else:
                self._data.move_to_end(key)
                out.append(decode(entry[1], self._n_classes))
        count_lookups(self._metrics, out)
        return out

    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None:
        expires = self.clock() + self._ttl
        for key, raw in items:
            self._data[key] = (expires, encode(raw))
            self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    async def close(self) -> None:
        self._data.clear()
