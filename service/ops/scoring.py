"""The score operation: request -> preprocessed points -> cache -> batched model -> API results.

Labels are checked before any work (an unknown label is a 422 listing the known classes). Cache misses of
a request go to the batcher together, in one `submit`, and are written back to the cache afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
from pydantic_core import to_json

from service.api.schemas.common import ModelRef
from service.api.schemas.score_fast import ScoreBody
from service.cache.base import Cache
from service.cache.keys import cache_key
from service.cache.off import NoCache
from service.core.errors import UnknownLabelError
from service.core.metrics import Metrics
from service.inference.batcher import Arrival, Batcher
from service.inference.loaded_model import LoadedModel
from service.inference.outputs import RawScore
from service.ops.limits import Limits, check_request, to_points
from sketchprep.formats import canonical_category

OP = "score"
YIELD_EVERY = 16  # sketches preprocessed between two yields to the event loop
INLINE_POINTS = 4_000  # requests with more input points are preprocessed in a thread


class Scorer:
    def __init__(self, model: LoadedModel, batcher: Batcher, cache: Cache, limits: Limits, metrics: Metrics) -> None:
        self.model = model
        self.batcher = batcher
        self.cache = cache
        self.limits = limits
        self.metrics = metrics
        self.model_ref = ModelRef(name=model.name, version=model.version, sha256=model.sha256)
        self._class_index = model.class_index
        self._model_json = to_json(self.model_ref)

    def label_indices(self, req: ScoreBody) -> list[int | None]:
        out: list[int | None] = []
        for i, sketch in enumerate(req.sketches):
            if sketch.label is None:
                out.append(None)
            elif (index := self._class_index.get(canonical_category(sketch.label))) is not None:
                out.append(index)  # "Alarm clock" -> alarm_clock
            else:
                raise UnknownLabelError(sketch.label, ["body", "sketches", i, "label"], self.model.classes)
        return out

    async def raw_scores(self, points: Sequence[np.ndarray], arrival: Arrival | None = None
                         ) -> tuple[list[RawScore], list[bool]]:
        """Raw outputs for preprocessed sketches ((T_i, 7) each) and whether each came from the cache.
        `arrival`: the request's announcement to the batcher (`Batcher.arriving`), if it made one."""
        if isinstance(self.cache, NoCache):
            return await self.batcher.submit(points, arrival), [False] * len(points)
        keys = [cache_key(self.model.sha256, OP, {}, p) for p in points]
        found = await self.cache.get_many(keys)
        missing = [i for i, r in enumerate(found) if r is None]
        if missing:
            computed = await self.batcher.submit([points[i] for i in missing], arrival)
            for i, raw in zip(missing, computed, strict=True):
                found[i] = raw
            await self.cache.set_many([(keys[i], raw) for i, raw in zip(missing, computed, strict=True)])
        n_cached = len(points) - len(missing)
        if n_cached:
            self.metrics.sketches_scored.labels("cache").inc(n_cached)
        missing_set = set(missing)
        return [r for r in found if r is not None], [i not in missing_set for i in range(len(points))]

    def _prepare(self, req: ScoreBody) -> list[np.ndarray]:
        return to_points(req.sketches, 0, self.limits, self.model.preprocess)  # (T_i, 7) each

    async def _prepare_async(self, req: ScoreBody, n_points: int) -> list[np.ndarray]:
        """Preprocess; long sketches can take a while to simplify, so big requests leave the event loop."""
        if n_points > INLINE_POINTS:
            return await asyncio.to_thread(self._prepare, req)
        cfg = self.model.preprocess
        points: list[np.ndarray] = []  # (T_i, 7) float32 each
        for first in range(0, len(req.sketches), YIELD_EVERY):
            if first:
                await asyncio.sleep(0)  # let the dispatcher and other requests run during a big request
            points += to_points(req.sketches[first:first + YIELD_EVERY], first, self.limits, cfg)
        return points

    async def score_json(self, req: ScoreBody) -> bytes:
        """The answer to POST /score as JSON bytes (the ScoreResponse schema), built without model objects."""
        n_points = check_request(req, self.limits)
        labels = self.label_indices(req)
        with self.batcher.arriving() as arrival:  # the adaptive batching wait holds a batch for these sketches
            points = await self._prepare_async(req, n_points)
            raws, cached = await self.raw_scores(points, arrival)
        classes = self.model.classes
        results = []
        for sketch, raw, label, was_cached in zip(req.sketches, raws, labels, cached, strict=True):
            r = self.model.interpret(raw, req.top_k, label)
            check = None if label is None else {"label": sketch.label, "theta": r.label_theta,
                                                "suspect": r.label_suspect, "quality": r.label_quality}
            results.append({
                "quality": r.quality, "quality_percentile": r.quality_percentile, "class": classes[r.class_index],
                "confidence": r.confidence, "top_k": [{"class": classes[c], "probability": p} for c, p in r.top_k],
                "theta": r.theta, "label_check": check, "cached": was_cached})
        # Every number is finite here (interpret() refuses non-finite model outputs).
        return b'{"model":%s,"results":%s}' % (self._model_json, to_json(results))
