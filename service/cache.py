"""Result cache: Redis when a Redis URL is set, an in-process LRU otherwise, or none.

What is cached is a sketch's raw model output (q, cosines, predicted index): everything the API returns
is derived from it (top_k and the label check are applied afterwards), so one entry serves all options.
Key = "sketchq:<op>:" + sha256 over (model sha256, op, canonical JSON of the options, the preprocessed
(T, 7) float32 points). The preprocessed points are the canonical sketch: the same drawing sent as strokes
or as stroke-3, moved or scaled, gives the same points and so the same key. Every entry has a TTL.

Redis failures (down, slow: short timeouts) never fail a request: the lookup counts as outcome "error",
the request is computed, one warning is logged per outage (and one line when it recovers), and Redis is
not tried again for cache_retry_s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from service.metrics import Metrics
from service.model import RawScore
from service.settings import Settings

log = logging.getLogger("service.cache")


def cache_key(model_sha256: str, op: str, options: dict[str, Any], points: np.ndarray) -> str:
    """points: (T, 7) float32, the preprocessed sketch."""
    h = hashlib.sha256()
    h.update(f"sketchq-cache-v1|{model_sha256}|{op}|{json.dumps(options, sort_keys=True)}|".encode())
    h.update(f"{points.shape}|{points.dtype.str}|".encode())
    h.update(np.ascontiguousarray(points).tobytes())
    return f"sketchq:{op}:{h.hexdigest()}"


def encode(raw: RawScore) -> bytes:
    """q float32, pred int64, then cos (C,) float32 (little endian)."""
    return (np.asarray(raw.q, "<f4").tobytes() + np.asarray(raw.pred, "<i8").tobytes()
            + np.asarray(raw.cos, "<f4").tobytes())


def decode(blob: bytes, n_classes: int) -> RawScore | None:
    if len(blob) != 12 + 4 * n_classes:
        return None  # written by another model layout: treat as a miss
    q = float(np.frombuffer(blob, "<f4", 1, 0)[0])
    pred = int(np.frombuffer(blob, "<i8", 1, 4)[0])
    cos = np.frombuffer(blob, "<f4", n_classes, 12).astype(np.float32)
    return RawScore(q, cos, pred)


class Cache(Protocol):
    backend: str

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]: ...
    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None: ...
    async def close(self) -> None: ...


class NoCache:
    backend = "off"

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]:
        return [None] * len(keys)

    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None:
        return None

    async def close(self) -> None:
        return None


class MemoryCache:
    """LRU with a TTL, for one process; stores the encoded bytes so hits return fresh arrays."""

    backend = "memory"

    def __init__(self, n_classes: int, max_entries: int, ttl_s: float, metrics: Metrics) -> None:
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._n_classes, self._max, self._ttl, self._metrics = n_classes, max_entries, ttl_s, metrics

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]:
        now = time.monotonic()
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
        _count(self._metrics, out)
        return out

    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None:
        expires = time.monotonic() + self._ttl
        for key, raw in items:
            self._data[key] = (expires, encode(raw))
            self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    async def close(self) -> None:
        self._data.clear()


class RedisCache:
    backend = "redis"

    def __init__(self, url: str, n_classes: int, ttl_s: int, timeout_s: float, retry_s: float,
                 metrics: Metrics) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0),
            health_check_interval=0, max_connections=64)  # no retries: an outage is a miss at once
        self._n_classes, self._ttl, self._retry_s, self._metrics = n_classes, ttl_s, retry_s, metrics
        self._down_until = 0.0  # monotonic time before which Redis is skipped
        self._outage = False

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, op: str, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._retry_s
        if not self._outage:
            self._outage = True
            self._metrics.cache_outages.inc()
            log.warning("Redis cache unavailable (%s: %s: %s); serving uncached until it is back", op,
                        type(exc).__name__, exc)

    def _succeeded(self) -> None:
        if self._outage:
            self._outage = False
            log.info("Redis cache is back")

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]:
        if not keys:
            return []
        if not self._available():
            self._metrics.cache_requests.labels("error").inc(len(keys))
            return [None] * len(keys)
        try:
            blobs = await self._client.mget(list(keys))
        except (RedisError, OSError) as e:
            self._failed("get", e)
            self._metrics.cache_requests.labels("error").inc(len(keys))
            return [None] * len(keys)
        self._succeeded()
        out = [None if b is None else decode(b, self._n_classes) for b in blobs]
        _count(self._metrics, out)
        return out

    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None:
        if not items or not self._available():
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, raw in items:
                    pipe.set(key, encode(raw), ex=self._ttl)
                await pipe.execute()
        except (RedisError, OSError) as e:
            self._failed("set", e)
            return
        self._succeeded()

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()


def _count(metrics: Metrics, found: list[RawScore | None]) -> None:
    hits = sum(r is not None for r in found)
    if hits:
        metrics.cache_requests.labels("hit").inc(hits)
    if len(found) - hits:
        metrics.cache_requests.labels("miss").inc(len(found) - hits)


def make_cache(settings: Settings, n_classes: int, metrics: Metrics) -> Cache:
    backend = settings.cache_backend
    if backend == "redis":
        assert settings.redis_url
        return RedisCache(settings.redis_url, n_classes, settings.cache_ttl_s, settings.cache_timeout_ms / 1000.0,
                          settings.cache_retry_s, metrics)
    if backend == "memory":
        return MemoryCache(n_classes, settings.cache_max_entries, settings.cache_ttl_s, metrics)
    return NoCache()
