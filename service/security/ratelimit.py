"""Per-client rate limits measured in cost: a token bucket per client that refills at rate_limit_per_s and
holds at most rate_limit_burst (units: sketch evaluations; a /score costs its sketches, an /attribute and
an /enhance the evaluations they will run at most).

A request is let in while its client's bucket holds at least 1 and then pays its whole cost, so the bucket may
go into debt: a costly request is never refused for being larger than the burst, and its client waits in
proportion to what it cost (Retry-After says how long). Because a bucket below 1 refuses whatever the cost,
the refusal can be made from the request head alone, before the body is read (service.transport.gate).

With a Redis URL the buckets live in Redis (one hash per client, updated by a Lua script with Redis' own
clock, so every replica shares them); when Redis fails, the in-process buckets stand in (each replica
limits on its own) until it is back, and the failure is logged once and counted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import OrderedDict

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from service.core.metrics import Metrics

log = logging.getLogger("service.ratelimit")

MAX_LOCAL_CLIENTS = 100_000  # in-process buckets kept (least recently used dropped; a dropped one is full)

# KEYS[1]: the bucket; ARGV: rate per s, burst, cost. Returns {allowed 0/1, tokens after (as a string)}.
_LUA = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, ts = burst, now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  allowed = 1
  tokens = tokens - cost
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class LocalBuckets:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, monotonic ts)

    def take(self, client: str, cost: float) -> tuple[bool, float]:
        now = time.monotonic()
        tokens, ts = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - ts) * self.rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= cost
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > MAX_LOCAL_CLIENTS:
            self._buckets.popitem(last=False)
        return allowed, tokens


class RateLimiter:
    def __init__(self, rate: float, burst: float, redis_url: str | None, timeout_s: float, retry_s: float,
                 metrics: Metrics) -> None:
        self.rate, self.burst = rate, burst
        self._local = LocalBuckets(rate, burst)
        self._metrics = metrics
        self._retry_s = retry_s
        self._down_until = 0.0
        self._client = None if redis_url is None else aioredis.Redis.from_url(
            redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0),
            health_check_interval=0, max_connections=64)
        self._script = None if self._client is None else self._client.register_script(_LUA)
        self.backend = "redis" if self._client is not None else "memory"

    async def _take(self, client: str, cost: float) -> tuple[bool, float]:
        if self._script is not None and time.monotonic() >= self._down_until:
            try:
                allowed, tokens = await self._script(keys=[f"sketchq:ratelimit:{client}"],
                                                     args=[self.rate, self.burst, cost])
                return bool(allowed), float(tokens)
            except (RedisError, OSError) as e:
                if self._down_until == 0.0 or time.monotonic() >= self._down_until:
                    log.warning("rate limits: Redis unavailable (%s: %s); limiting per replica for now",
                                type(e).__name__, e)
                self._metrics.rate_limit_backend_errors.inc()
                self._down_until = time.monotonic() + self._retry_s
        return self._local.take(client, cost)

    async def take(self, client: str, cost: float, precheck: bool = False) -> float | None:
        """Let a request of `cost` in (None) or say how many seconds to wait (its bucket is empty). With
        `precheck` nothing is paid (the request head alone: is the bucket empty?)."""
        allowed, tokens = await self._take(client, 0.0 if precheck else cost)
        if allowed:
            if not precheck:
                self._metrics.rate_limit.labels("allowed").inc()
                self._metrics.rate_limit_cost.inc(cost)
            return None
        self._metrics.rate_limit.labels("limited").inc()
        return max(1.0, float(math.ceil((1.0 - tokens) / self.rate)))

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.aclose()
