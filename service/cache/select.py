"""The cache backend the settings ask for."""

from __future__ import annotations

from service.cache.base import Cache
from service.cache.memory import MemoryCache
from service.cache.off import NoCache
from service.cache.redis_backend import RedisCache
from service.cache.scoped import ClientScopedCache
from service.core.metrics import Metrics
from service.core.settings import Settings


def make_cache(settings: Settings, n_classes: int, metrics: Metrics) -> Cache:
    cache = _backend(settings, n_classes, metrics)
    if settings.cache_scope == "client" and not isinstance(cache, NoCache):
        return ClientScopedCache(cache)
    return cache


def _backend(settings: Settings, n_classes: int, metrics: Metrics) -> Cache:
    backend = settings.cache_backend
    if backend == "redis":
        assert settings.redis_url
        return RedisCache(settings.redis_url, n_classes, settings.cache_ttl_s, settings.cache_timeout_ms / 1000.0,
                          settings.cache_retry_s, metrics)
    if backend == "memory":
        return MemoryCache(n_classes, settings.cache_max_entries, settings.cache_ttl_s, metrics)
    return NoCache()
