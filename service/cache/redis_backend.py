"""The Redis cache. Failures (down, slow: short timeouts) never fail a request: the lookup counts as outcome
"error", the request is computed, one warning is logged per outage (and one line when it recovers), and
Redis is not tried again for cache_retry_s."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from service.cache.base import count_lookups
from service.cache.keys import decode, encode
from service.core.metrics import Metrics
from service.inference.outputs import RawScore

log = logging.getLogger("service.cache")


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
        count_lookups(self._metrics, out)
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

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()
