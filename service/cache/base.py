"""The cache protocol every backend implements (service.cache.select picks one from the settings), and the
hit/miss count they share. What is cached, and the keys: service.cache.keys. Every entry has a TTL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from service.core.metrics import Metrics
from service.inference.outputs import RawScore


class Cache(Protocol):
    backend: str

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]: ...
    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None: ...
    async def close(self) -> None: ...


def count_lookups(metrics: Metrics, found: list[RawScore | None]) -> None:
    hits = sum(r is not None for r in found)
    if hits:
        metrics.cache_requests.labels("hit").inc(hits)
    if len(found) - hits:
        metrics.cache_requests.labels("miss").inc(len(found) - hits)
