"""Everything one running app owns, started and stopped by the lifespan: model, engine, batcher, cache."""

from __future__ import annotations

import asyncio
import logging
import time

from service.attribution import Attributor
from service.batcher import Batcher, BatcherConfig
from service.cache import Cache, make_cache
from service.engine import Engine
from service.enhance import Enhancer
from service.metrics import Metrics
from service.model import ModelCard
from service.scoring import Scorer
from service.settings import Settings
from service.sketches import Limits
from service.vae import CARD_FILE as VAE_CARD_FILE
from service.vae import VaeModel

log = logging.getLogger("service")


class ServiceState:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.card: ModelCard | None = None
        self.engine: Engine | None = None
        self.batcher: Batcher | None = None
        self.cache: Cache | None = None
        self.scorer: Scorer | None = None
        self.attributor: Attributor | None = None
        self.enhancer: Enhancer | None = None  # None: no VAE installed (/enhance answers 503)
        self.warmed = False
        self.draining = False

    async def start(self) -> None:
        s = self.settings
        started = time.perf_counter()
        # Loading and warming the model is blocking work: keep it off the event loop.
        card = await asyncio.to_thread(ModelCard.load, s.model_dir, s.verify_model_sha256)
        engine = await asyncio.to_thread(Engine, card, s)
        buckets = s.buckets_for(card.preprocess.max_points)
        await asyncio.to_thread(engine.warmup, buckets, sorted({1, s.max_batch}))
        self.card, self.engine = card, engine
        self.batcher = Batcher(engine.run, BatcherConfig(
            max_batch=s.max_batch, max_wait_s=s.max_wait_ms / 1000.0, max_queue=s.max_queue, buckets=buckets,
            workers=s.engine_workers, timeout_s=s.request_timeout_s,
            retry_after_s=s.retry_after_s), self.metrics)
        await self.batcher.start()
        self.cache = make_cache(s, len(card.classes), self.metrics)
        self.scorer = Scorer(card, self.batcher, self.cache, Limits.from_settings(s), self.metrics)
        self.attributor = Attributor(self.scorer, s, self.metrics)
        if (s.enhance_model_dir / VAE_CARD_FILE).exists():
            vae = await asyncio.to_thread(VaeModel.load, s.enhance_model_dir, max(1, s.intra_op_threads))
            self.enhancer = Enhancer(self.scorer, vae, s, self.metrics)
            log.info("enhancement VAE loaded from %s", s.enhance_model_dir)
        else:
            log.info("no enhancement VAE in %s: /enhance answers 503", s.enhance_model_dir)
        self.metrics.model_info.labels(card.name, card.version, card.sha256, ",".join(engine.providers),
                                       engine.device).set(1)
        self.warmed = True
        self.metrics.ready.set(1)
        log.info("ready in %.1f s: model %s %s, providers %s, buckets %s, cache %s", time.perf_counter() - started,
                 card.name, card.version, engine.providers, buckets, self.cache.backend)

    async def drain(self) -> None:
        """Fail readiness, refuse new work (503), finish what is queued, then 503 what is left.

        Called as the server stops accepting connections, so queued sketches are computed at once instead
        of waiting for fuller batches. Queued work gets up to request_timeout_s; idempotent.
        """
        self.draining = True
        self.metrics.ready.set(0)
        if self.batcher is not None:
            log.info("draining: %d sketches queued", self.batcher.depth)
            await self.batcher.stop(timeout_s=self.settings.request_timeout_s)

    async def stop(self) -> None:
        await self.drain()
        if self.cache is not None:
            await self.cache.close()
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
