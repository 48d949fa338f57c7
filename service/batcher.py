"""Micro-batching: one asyncio dispatcher gathers queued sketches into model calls.

Shape of the thing:
- `submit(points_list)` puts a request's sketches (each (T_i, 7) float32) into the bounded queue at once,
  or raises QueueFullError (503) when they do not fit, and awaits all their results. Cancelling the
  awaiting task (client gone) or the timeout purges its still-queued sketches. A request of many sketches
  is simply many queue items, so it is split across as many batches as needed. Other endpoints that score
  many candidate sketches use this same call.
- Items are kept in one FIFO queue per length bucket. A batch only holds sketches of one bucket and is
  padded to that bucket's length, so every sketch is always computed at the same padded shape: its result
  does not depend on what it was batched with (bit-identical with ORT intra_op_threads=1), and shapes are
  few (warmed up at start, CUDA-graph friendly).
- Dispatch (Triton-like): a bucket with >= max_batch items goes at once; else, when a worker is free, the
  oldest item's bucket goes once that item has waited max_wait_ms. Under load, items queue up while the
  workers are busy, so batches fill without any extra wait.
- `engine_workers` batches run at once, each in a worker thread (ORT releases the GIL); up to `prefetch`
  more full batches are formed ahead and wait in the workers' queue, so a worker does not idle while the
  event loop is busy (parsing, preprocessing) before it can hand over the next batch. A worker hands a
  finished batch back with one `call_soon_threadsafe`; per request there is one future and one timer.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from service.engine import EngineOutputs
from service.errors import InferenceError, QueueFullError, QueueTimeoutError, ServiceError, ShuttingDownError
from service.metrics import Metrics
from service.model import RawScore
from sketchprep.preprocess import collate

log = logging.getLogger("service.batcher")

RunFn = Callable[[np.ndarray, np.ndarray], EngineOutputs]  # (B, T, 7) float32, (B,) int64 -> outputs


@dataclass(eq=False, slots=True)
class _Job:
    """One submit() call: its future resolves when all of its sketches have results."""

    future: asyncio.Future[list[RawScore]]
    results: list[RawScore | None]
    remaining: int


@dataclass(eq=False, slots=True)
class _Item:
    job: _Job
    index: int  # position in the job's list
    points: np.ndarray  # (T, 7) float32
    enqueued: float  # time.monotonic()


@dataclass
class BatcherConfig:
    max_batch: int = 64
    max_wait_s: float = 0.002
    max_queue: int = 1024
    buckets: list[int] = field(default_factory=lambda: [32, 64, 96, 128])  # ascending padded lengths
    workers: int = 2
    prefetch: int = 2  # batches formed ahead, waiting for a free worker
    timeout_s: float = 30.0
    retry_after_s: int = 1


class Batcher:
    def __init__(self, run: RunFn, config: BatcherConfig, metrics: Metrics) -> None:
        self._run = run
        self.config = config
        self._metrics = metrics
        self._queues: list[deque[_Item]] = [deque() for _ in config.buckets]
        self._depth = 0
        metrics.queue_depth.set_function(lambda: self._depth)
        self._wakeup = asyncio.Event()
        self._work: queue.SimpleQueue[tuple[int, list[_Item]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # Batches handed to the workers and not finished: at most workers + prefetch, so a worker that
        # finishes takes the next prefetched batch at once, without waiting for the event loop.
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._accepting = False
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._threads = [threading.Thread(target=self._worker, name=f"sketchq-engine_{k}", daemon=True)
                         for k in range(self.config.workers)]
        for t in self._threads:
            t.start()
        self._accepting = True
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="sketchq-dispatcher")

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Refuse new work, finish what is queued (up to timeout_s), then stop the workers."""
        self._accepting = False
        self._stopping = True
        self._wakeup.set()
        if self._dispatcher is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._dispatcher), timeout_s)
            except TimeoutError:
                log.warning("batcher did not drain in %.1f s; cancelling", timeout_s)
                self._dispatcher.cancel()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            log.warning("batches still computing after %.1f s", timeout_s)
        for q in self._queues:  # anything left after a timeout
            for item in q:
                if not item.job.future.done():
                    item.job.future.set_exception(ShuttingDownError("the service stopped", self.config.retry_after_s))
            q.clear()
        self._depth = 0
        for _ in self._threads:
            self._work.put(None)

    @property
    def alive(self) -> bool:
        return self._dispatcher is not None and not self._dispatcher.done() and self._accepting

    @property
    def depth(self) -> int:
        return self._depth

    def bucket_index(self, length: int) -> int:
        """Index of the smallest bucket >= length (lengths never exceed the last bucket, max_points)."""
        i = bisect.bisect_left(self.config.buckets, length)
        if i == len(self.config.buckets):
            raise ValueError(f"sketch of {length} points is longer than the largest bucket")
        return i

    # --- the public call -------------------------------------------------------------------------
    async def submit(self, points_list: Sequence[np.ndarray]) -> list[RawScore]:
        """Score sketches ((T_i, 7) float32 each, T_i >= 1) through the shared batches; results in order."""
        cfg = self.config
        if not self._accepting:
            self._metrics.rejected.labels("shutting_down").inc()
            raise ShuttingDownError("the service is shutting down", cfg.retry_after_s)
        n = len(points_list)
        if n == 0:
            return []
        if self._depth + n > cfg.max_queue:
            self._metrics.rejected.labels("queue_full").inc()
            raise QueueFullError(f"the queue is full ({self._depth} of {cfg.max_queue} sketches waiting, this "
                                 f"request has {n}); retry later", cfg.retry_after_s)
        buckets = [self.bucket_index(len(p)) for p in points_list]
        loop = asyncio.get_running_loop()
        job = _Job(loop.create_future(), [None] * n, n)
        now = time.monotonic()
        for i, (p, b) in enumerate(zip(points_list, buckets, strict=True)):
            self._queues[b].append(_Item(job, i, p, now))
        self._depth += n
        # The dispatcher only needs waking if this can change its choice: a worker is free, or a bucket
        # has just filled up (while all workers are busy only full batches are formed).
        if self._running < cfg.workers or any(len(self._queues[b]) >= cfg.max_batch for b in set(buckets)):
            self._wakeup.set()
        timer = loop.call_at(loop.time() + cfg.timeout_s, self._expire, job)
        try:
            return await job.future  # type: ignore[return-value]  # every slot is filled by then
        except asyncio.CancelledError:  # the caller was cancelled (its client has gone)
            self._purge(job, "client_gone")
            raise
        finally:
            timer.cancel()

    # --- internals -------------------------------------------------------------------------------
    def _expire(self, job: _Job) -> None:
        """The job's timeout: 503 for its caller, its queued sketches dropped."""
        if job.future.done():
            return
        cfg = self.config
        job.future.set_exception(QueueTimeoutError(f"no result within {cfg.timeout_s} s", cfg.retry_after_s))
        self._metrics.rejected.labels("timeout").inc()
        self._purge(job, "timeout")

    def _purge(self, job: _Job, reason: str) -> None:
        """Remove a finished or cancelled job's sketches that are still queued."""
        if not job.future.done():
            job.future.cancel()
        removed = 0
        for b, q in enumerate(self._queues):
            if any(item.job is job for item in q):
                kept = deque(item for item in q if item.job is not job)
                removed += len(q) - len(kept)
                self._queues[b] = kept
        if removed:
            self._depth -= removed
            self._metrics.dropped.labels(reason).inc(removed)

    def _choose_bucket(self) -> tuple[int | None, float]:
        """(bucket to dispatch now or None, seconds until the oldest item's deadline).

        A full bucket always goes. While every worker is busy, only full batches are formed (they wait in
        the workers' queue for the next free worker); partial batches wait for a free worker, gathering
        more sketches meanwhile, and then for the oldest item's max_wait deadline.
        """
        oldest_b, oldest_t = None, float("inf")
        full_b, full_t = None, float("inf")  # the full bucket whose head waited longest (no starvation)
        for b, q in enumerate(self._queues):
            if q:
                if q[0].enqueued < oldest_t:
                    oldest_b, oldest_t = b, q[0].enqueued
                if len(q) >= self.config.max_batch and q[0].enqueued < full_t:
                    full_b, full_t = b, q[0].enqueued
        if oldest_b is None:
            return None, float("inf")
        if self._stopping:
            return oldest_b, 0.0
        if full_b is not None:
            return full_b, 0.0
        if self._running >= self.config.workers:
            return None, float("inf")  # woken when a batch finishes or a sketch arrives
        delay = oldest_t + self.config.max_wait_s - time.monotonic()
        return (oldest_b, 0.0) if delay <= 0 else (None, delay)

    async def _next_batch(self) -> tuple[int, list[_Item]] | None:
        """Wait for a batch worth dispatching; None when stopping and the queue is empty."""
        while True:
            bucket, delay = self._choose_bucket()
            if bucket is not None:
                q = self._queues[bucket]
                items: list[_Item] = []
                taken = 0
                while q and len(items) < self.config.max_batch:
                    item = q.popleft()
                    taken += 1
                    if not item.job.future.done():
                        items.append(item)
                self._depth -= taken
                if items:
                    return bucket, items
                continue
            if self._stopping and self._depth == 0:
                return None
            self._wakeup.clear()
            try:
                async with asyncio.timeout(None if delay == float("inf") else delay):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    async def _dispatch_loop(self) -> None:
        limit = self.config.workers + self.config.prefetch
        while True:
            while self._running >= limit:
                self._wakeup.clear()
                await self._wakeup.wait()  # set when a batch finishes
            batch = await self._next_batch()
            if batch is None:
                return
            bucket, items = batch
            self._running += 1
            self._idle.clear()
            self._metrics.batch_size.observe(len(items))
            self._work.put((bucket, items))

    def _worker(self) -> None:
        """Worker thread: compute batches until told to stop; each result goes back to the event loop."""
        assert self._loop is not None
        while (task := self._work.get()) is not None:
            bucket, items = task
            try:
                out: EngineOutputs | BaseException = self._compute(self.config.buckets[bucket], items)
            except Exception as e:
                out = e if isinstance(e, ServiceError) else InferenceError(f"batch failed: {e!r}")
            try:
                self._loop.call_soon_threadsafe(self._finish, items, out)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return

    def _compute(self, length: int, items: list[_Item]) -> EngineOutputs:
        """Worker thread: pad to the bucket length and run the model."""
        now = time.monotonic()
        for item in items:
            self._metrics.queue_wait_seconds.observe(now - item.enqueued)
        start = time.perf_counter()
        batch, lengths = collate([item.points for item in items], length)  # (B, T, 7) float32, (B,) int64
        out = self._run(batch, lengths)
        self._metrics.compute_seconds.observe(time.perf_counter() - start)
        self._metrics.padding_ratio.observe(1.0 - float(lengths.sum()) / batch.shape[0] / length)
        return out

    def _finish(self, items: list[_Item], out: EngineOutputs | BaseException) -> None:
        """Event loop: hand a computed batch's results to their jobs."""
        self._running -= 1
        if self._running == 0:
            self._idle.set()
        self._wakeup.set()
        if isinstance(out, BaseException):
            for item in items:
                if not item.job.future.done():
                    item.job.future.set_exception(out)
            return
        self._metrics.sketches_scored.labels("model").inc(len(items))
        qs, preds, cos = out.q.tolist(), out.pred.tolist(), out.cos
        for k, item in enumerate(items):
            job = item.job
            if job.future.done():  # cancelled or timed out while computing
                continue
            job.results[item.index] = RawScore(qs[k], cos[k], preds[k])
            job.remaining -= 1
            if job.remaining == 0:
                job.future.set_result(job.results)  # type: ignore[arg-type]
