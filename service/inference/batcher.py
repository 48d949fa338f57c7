"""Micro-batching: engine worker threads take batches of queued sketches themselves.

Shape of the thing:
- `submit(points_list)` puts a request's sketches (each (T_i, 7) float32) into the bounded queue at once,
  or raises QueueFullError (503) when they do not fit, and awaits all their results. Cancelling the
  awaiting task (client gone) or the timeout purges its still-queued sketches. A request of many sketches
  is simply many queue items, so it is split across as many batches as needed. Other endpoints that score
  many candidate sketches use this same call.
- Items are kept in one FIFO queue per length bucket (`service.inference.queue`). A batch only holds sketches
  of one bucket and is padded to that bucket's length, so every sketch is always computed at the same
  padded shape: its result does not depend on what it was batched with (bit-identical with ORT
  intra_op_threads=1), and shapes are few (warmed up at start, CUDA-graph friendly).
- Dispatch (Triton-like), decided by each free worker under the queue's lock: a bucket with >= max_batch
  items goes at once; else the oldest item's bucket goes once that item has waited max_wait_ms. Under
  load, items queue up while the workers are busy, so batches fill without any extra wait.
- A request of one sketch that finds the batcher idle (nothing queued or on its way, every worker asleep)
  and is the only request being served (`alone`: counted by the HTTP protocol, so requests already read but
  not yet started count too) is computed at once on the event loop (`inline_when_idle`): the same padded
  shape and session, so the same numbers, without two thread hand-offs (a worker's wake-up, then the
  loop's). This blocks the loop for one batch-1 run (~0.1-0.4 ms on a CPU) only when nothing else is being
  served; under load every sketch goes through the queue and the workers.
- `engine_workers` batches run at once, each in a worker thread (ORT releases the GIL). A worker that
  finishes a batch hands the results back with one `call_soon_threadsafe` and takes its next batch itself,
  without waiting for the event loop (which may be busy parsing and preprocessing); per request there is
  one future and one timer. There is no dispatcher task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from service.core import tracing
from service.core.errors import InferenceError, QueueFullError, QueueTimeoutError, ServiceError, ShuttingDownError
from service.core.metrics import Metrics
from service.inference.buckets import bucket_index
from service.inference.outputs import EngineOutputs, RawScore
from service.inference.queue import BucketQueue, Item, Job
from sketchprep.preprocess import collate

log = logging.getLogger("service.batcher")

RunFn = Callable[[np.ndarray, np.ndarray], EngineOutputs]  # (B, T, 7) float32, (B,) int64 -> outputs


@dataclass(slots=True)
class Arrival:
    """One request's announcement that sketches are on their way (`Batcher.arriving`)."""

    pending: bool = True


@dataclass
class BatcherConfig:
    max_batch: int = 64
    max_wait_s: float = 0.002
    adaptive_wait: bool = True  # wait only for sketches being prepared (service.inference.queue)
    inline_when_idle: bool = True  # a lone sketch with every worker idle is computed on the event loop
    max_queue: int = 1024
    buckets: list[int] = field(default_factory=lambda: [32, 64, 96, 128])  # ascending padded lengths
    workers: int = 2
    timeout_s: float = 30.0
    retry_after_s: int = 1


class Batcher:
    def __init__(self, run: RunFn, config: BatcherConfig, metrics: Metrics,
                 alone: Callable[[], bool] = lambda: True) -> None:
        self._run = run
        self._alone = alone  # is the caller's request the only one being served (service.transport.activity)
        self.config = config
        self._metrics = metrics
        self._queue = BucketQueue(len(config.buckets), config.max_batch, config.max_wait_s, config.adaptive_wait)
        metrics.track(metrics.queue_depth, lambda: self._queue.depth)
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exited = 0  # worker threads that have returned (counted on the event loop)
        self._all_exited: asyncio.Event | None = None
        self._accepting = False

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._all_exited = asyncio.Event()
        self._threads = [threading.Thread(target=self._worker, name=f"sketchq-engine_{k}", daemon=True)
                         for k in range(self.config.workers)]
        for t in self._threads:
            t.start()
        self._accepting = True

    def flush(self) -> None:
        """Compute queued sketches at once from now on (shutting down), still accepting work."""
        self._queue.flush()

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Refuse new work, finish what is queued (up to timeout_s), then stop the workers."""
        self._accepting = False
        self._queue.stop()
        if self._all_exited is not None and self._threads:
            try:
                # Each worker's last _finish callback runs before its exit callback: all results are out.
                await asyncio.wait_for(self._all_exited.wait(), timeout_s)
            except TimeoutError:
                log.warning("batcher did not drain in %.1f s; failing what is left", timeout_s)
        for item in self._queue.close():  # anything left after a timeout
            if not item.job.future.done():
                item.job.future.set_exception(ShuttingDownError("the service stopped", self.config.retry_after_s))

    @property
    def alive(self) -> bool:
        return self._accepting and bool(self._threads) and all(t.is_alive() for t in self._threads)

    @property
    def depth(self) -> int:
        return self._queue.depth

    def bucket_index(self, length: int) -> int:
        """Index of the smallest bucket >= length (lengths never exceed the last bucket, max_points)."""
        return bucket_index(length, self.config.buckets)

    # --- the public calls ------------------------------------------------------------------------
    @contextlib.contextmanager
    def arriving(self) -> Iterator[Arrival]:
        """Around a request's preparation (preprocessing, cache lookup) up to its `submit`: announces that
        sketches are on their way, so that the adaptive wait holds a partial batch for them and for nothing
        else. Pass the arrival to `submit`; if the request never submits, leaving the block withdraws it."""
        arrival = Arrival()
        self._queue.announce()
        try:
            yield arrival
        finally:
            if arrival.pending:
                arrival.pending = False
                self._queue.withdraw()

    async def submit(self, points_list: Sequence[np.ndarray], arrival: Arrival | None = None) -> list[RawScore]:
        """Score sketches ((T_i, 7) float32 each, T_i >= 1) through the shared batches; results in order.
        `arrival`: the request's announcement (`arriving`), ended when its sketches are queued."""
        cfg = self.config
        if not self._accepting:
            self._metrics.rejected.labels("shutting_down").inc()
            raise ShuttingDownError("the service is shutting down", cfg.retry_after_s)
        n = len(points_list)
        if n == 0:
            return []
        announced = arrival is not None and arrival.pending
        buckets = [self.bucket_index(len(p)) for p in points_list]
        if n == 1 and cfg.inline_when_idle and self._alone() and self._queue.idle(cfg.workers, announced):
            if announced:
                arrival.pending = False  # type: ignore[union-attr]
                self._queue.withdraw()
            with tracing.span("batcher.submit", sketches=1):  # computing it: its batch.compute span is a child
                return [self._compute_inline(points_list[0], cfg.buckets[buckets[0]])]
        loop = asyncio.get_running_loop()
        job = Job(loop.create_future(), [None] * n, n)
        now = time.monotonic()
        ctx = tracing.current_context()
        if not self._queue.put([Item(job, i, p, now, ctx) for i, p in enumerate(points_list)], buckets, cfg.max_queue,
                               announced):
            self._metrics.rejected.labels("queue_full").inc()
            raise QueueFullError(f"the queue is full ({self._queue.depth} of {cfg.max_queue} sketches waiting, "
                                 f"this request has {n}); retry later", cfg.retry_after_s)
        if announced:
            arrival.pending = False  # type: ignore[union-attr]  # queued: no longer on its way
        timer = loop.call_at(loop.time() + cfg.timeout_s, self._expire, job)
        try:
            with tracing.span("batcher.submit", sketches=n):  # queueing and computing this request's sketches
                return await job.future  # type: ignore[return-value]  # every slot is filled by then
        except asyncio.CancelledError:  # the caller was cancelled (its client has gone)
            self._purge(job, "client_gone")
            raise
        finally:
            timer.cancel()

    # --- event loop internals --------------------------------------------------------------------
    def _compute_inline(self, points: np.ndarray, length: int) -> RawScore:
        """Event loop, batcher idle: one sketch padded to its bucket, computed here (as a worker and _finish
        would: the same shape, metrics and result; its span is a child of the request's, not a link)."""
        self._metrics.batch_size.observe(1)
        self._metrics.queue_wait_seconds.observe(0.0)
        try:
            out = self._run_padded([points], length, (), inline=True)
        except ServiceError:
            raise
        except Exception as e:
            raise InferenceError(f"batch failed: {e!r}") from e
        self._metrics.sketches_scored.labels("model").inc()
        self._metrics.inline_computes.inc()
        return RawScore(out.q.tolist()[0], out.cos[0], out.pred.tolist()[0])

    def _expire(self, job: Job) -> None:
        """The job's timeout: 503 for its caller, its queued sketches dropped."""
        if job.future.done():
            return
        cfg = self.config
        job.future.set_exception(QueueTimeoutError(f"no result within {cfg.timeout_s} s", cfg.retry_after_s))
        self._metrics.rejected.labels("timeout").inc()
        self._purge(job, "timeout")

    def _purge(self, job: Job, reason: str) -> None:
        """Remove a finished or cancelled job's sketches that are still queued."""
        if not job.future.done():
            job.future.cancel()
        removed = self._queue.remove(job)
        if removed:
            self._metrics.dropped.labels(reason).inc(removed)

    def _finish(self, items: list[Item], out: EngineOutputs | BaseException) -> None:
        """Event loop: hand a computed batch's results to their jobs."""
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

    def _worker_exited(self) -> None:
        self._exited += 1
        if self._exited == len(self._threads) and self._all_exited is not None:
            self._all_exited.set()

    # --- worker threads --------------------------------------------------------------------------
    def _worker(self) -> None:
        """Worker thread: take the next due batch, compute it, send the results to the event loop; until
        the batcher stops and the queue is empty."""
        loop = self._loop
        assert loop is not None
        try:
            while (batch := self._queue.take()) is not None:
                bucket, items = batch
                self._metrics.batch_size.observe(len(items))
                try:
                    out: EngineOutputs | BaseException = self._compute(self.config.buckets[bucket], items)
                except Exception as e:
                    out = e if isinstance(e, ServiceError) else InferenceError(f"batch failed: {e!r}")
                try:
                    loop.call_soon_threadsafe(self._finish, items, out)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return
        finally:
            with contextlib.suppress(RuntimeError):  # closed loop
                loop.call_soon_threadsafe(self._worker_exited)

    def _compute(self, length: int, items: list[Item]) -> EngineOutputs:
        """Worker thread: a queued batch's waits, then the model."""
        now = time.monotonic()
        for item in items:
            self._metrics.queue_wait_seconds.observe(now - item.enqueued)
        return self._run_padded([item.points for item in items], length, [item.trace for item in items])

    def _run_padded(self, points: list[np.ndarray], length: int, links: Sequence[object],
                    **span_attributes: object) -> EngineOutputs:
        """Pad the sketches to the bucket length and run the model, timed and traced (either thread)."""
        start = time.perf_counter()
        with tracing.span("batch.compute", links=links, sketches=len(points), length=length, **span_attributes):
            batch, lengths = collate(points, length)  # (B, T, 7) float32, (B,) int64
            out = self._run(batch, lengths)
        self._metrics.compute_seconds.observe(time.perf_counter() - start)
        self._metrics.padding_ratio.observe(1.0 - float(lengths.sum()) / batch.shape[0] / length)
        return out
