"""Everything one running app owns, started and stopped by the lifespan: model, engine, batcher, cache and the
operations built on them (the composition root: routes and the fast path reach them through here)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator

from service.cache.base import Cache
from service.cache.select import make_cache
from service.core.context import client_id
from service.core.errors import RateLimitedError, ShuttingDownError
from service.core.metrics import LIVE_PUBLISH_S, Metrics
from service.core.settings import Settings
from service.inference.batcher import Batcher, BatcherConfig
from service.inference.engine import Engine
from service.inference.loaded_model import LoadedModel
from service.inference.vae import CARD_FILE as VAE_CARD_FILE
from service.inference.vae import VaeModel
from service.ops.attribution import Attributor
from service.ops.enhancement import Enhancer
from service.ops.limits import Limits
from service.ops.scoring import Scorer
from service.security.keys import KeyRing
from service.security.ratelimit import RateLimiter
from service.transport.activity import ActiveRequests
from sketchprep import native

log = logging.getLogger("service")


class ServiceState:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.http_active = ActiveRequests()  # counted by the HTTP protocol (service.transport.activity)
        self.model: LoadedModel | None = None
        self.engine: Engine | None = None
        self.batcher: Batcher | None = None
        self.cache: Cache | None = None
        self.scorer: Scorer | None = None
        self.attributor: Attributor | None = None
        self.enhancer: Enhancer | None = None  # None: no VAE installed (/enhance answers 503)
        self.keys = KeyRing(settings.api_key_hashes)
        self.limiter: RateLimiter | None = None  # None: no rate limits
        self.warmed = False
        self.draining = False  # readiness fails (SIGTERM's grace period, then the drain)
        self.refusing = False  # the drain has begun: new requests get 503, admitted ones finish
        self.in_flight = 0  # requests admitted and not finished
        self._idle = asyncio.Event()
        self._idle.set()
        self._publisher: asyncio.Task[None] | None = None  # multiprocess metrics: see Metrics.track
        metrics.track(metrics.in_flight, lambda: self.in_flight)

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Around one request's work (after its body is read): refused with 503 once the drain has begun;
        an admitted request keeps the batcher running until it has finished, all its steps included."""
        if self.refusing:
            self.metrics.rejected.labels("shutting_down").inc()
            raise ShuttingDownError("the service is shutting down", self.settings.retry_after_s)
        self.in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def start(self) -> None:
        s = self.settings
        started = time.perf_counter()
        # Loading and warming the model is blocking work: keep it off the event loop.
        model = await asyncio.to_thread(LoadedModel.load, s.model_dir, s.verify_model_sha256)
        engine = await asyncio.to_thread(Engine, model, s)
        buckets = s.buckets_for(model.preprocess.max_points)
        await asyncio.to_thread(engine.warmup, buckets, sorted({1, s.max_batch}))
        self.model, self.engine = model, engine
        self.batcher = Batcher(engine.run, BatcherConfig(
            max_batch=s.max_batch, max_wait_s=s.max_wait_ms / 1000.0, adaptive_wait=s.batch_wait == "adaptive",
            inline_when_idle=s.inline_when_idle,
            max_queue=s.max_queue, buckets=buckets,
            workers=s.engine_workers, timeout_s=s.request_timeout_s,
            retry_after_s=s.retry_after_s), self.metrics, alone=self.http_active.alone)
        await self.batcher.start()
        self.cache = make_cache(s, len(model.classes), self.metrics)
        self.scorer = Scorer(model, self.batcher, self.cache, Limits.from_settings(s), self.metrics)
        self.attributor = Attributor(self.scorer, s, self.metrics)
        if s.rate_limit:
            self.limiter = RateLimiter(s.rate_limit_per_s, s.rate_limit_burst, s.redis_url,
                                       s.cache_timeout_ms / 1000.0, s.cache_retry_s, self.metrics)
        if (s.enhance_model_dir / VAE_CARD_FILE).exists():
            vae = await asyncio.to_thread(VaeModel.load, s.enhance_model_dir, max(1, s.intra_op_threads))
            self.enhancer = Enhancer(self.scorer, vae, s, self.metrics)
            log.info("enhancement VAE loaded from %s", s.enhance_model_dir)
        else:
            log.info("no enhancement VAE in %s: /enhance answers 503", s.enhance_model_dir)
        self.metrics.model_info.labels(model.name, model.version, model.sha256, ",".join(engine.providers),
                                       engine.device).set(1)
        self.warmed = True
        self.metrics.ready.set(1)
        if self.metrics.multiprocess:
            self._publisher = asyncio.create_task(self._publish_live_metrics(), name="sketchq-metrics-publisher")
        log.info("ready in %.1f s: model %s %s, providers %s, buckets %s, cache %s, preprocessing %s",
                 time.perf_counter() - started, model.name, model.version, engine.providers, buckets,
                 self.cache.backend, "compiled (sketchprep._native)" if native.AVAILABLE
                 else "numpy only (sketchprep._native not built: no C compiler at install; same numbers, slower)")

    async def _publish_live_metrics(self) -> None:
        while True:
            self.metrics.publish_live()
            await asyncio.sleep(LIVE_PUBLISH_S)

    async def charge(self, cost: int) -> None:
        """Pay a request's cost (sketch evaluations) from its client's budget, or 429 when it is spent."""
        if self.limiter is None:
            return
        client = client_id.get() or "anonymous"
        wait = await self.limiter.take(client, cost)
        if wait is not None:
            raise RateLimitedError(f"this client's budget of work is spent (it regains "
                                   f"{self.limiter.rate:g} sketch evaluations per second); retry in {wait:.0f} s", wait)

    async def drain(self) -> None:
        """Fail readiness, refuse new requests (503), let admitted ones finish, then stop the batcher.

        Called as the server stops accepting connections. From then on queued sketches are computed at once
        instead of waiting for fuller batches, and the batcher keeps running until every admitted request
        has finished, so a multi-step /attribute or /enhance admitted before the drain completes. Admitted
        requests get up to request_timeout_s, then the batcher's own drain the same again; idempotent.
        """
        self.draining = True
        self.refusing = True
        self.metrics.ready.set(0)
        if self.batcher is not None:
            log.info("draining: %d requests in flight, %d sketches queued", self.in_flight, self.batcher.depth)
            self.batcher.flush()
            try:
                await asyncio.wait_for(self._idle.wait(), self.settings.request_timeout_s)
            except TimeoutError:
                log.warning("%d requests still in flight after %.1f s; stopping the batcher", self.in_flight,
                            self.settings.request_timeout_s)
            await self.batcher.stop(timeout_s=self.settings.request_timeout_s)

    async def stop(self) -> None:
        await self.drain()
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self.metrics.publish_live()  # the last values (the process is marked dead when it exits)
        if self.cache is not None:
            await self.cache.close()
        if self.limiter is not None:
            await self.limiter.close()
        log.info("stopped")

    def not_ready_reasons(self) -> list[str]:
        reasons = []
        if not self.warmed:
            reasons.append("model not loaded and warmed up")
        if self.draining:
            reasons.append("shutting down")
        if self.batcher is None or not self.batcher.alive:
            reasons.append("batcher not running")
        elif self.batcher.depth >= self.settings.max_queue:
            reasons.append(f"queue full ({self.batcher.depth} sketches)")
        return reasons
