"""The batcher's queue: sketches waiting for the model, one FIFO per length bucket, shared between the event
loop (which puts and removes) and the engine worker threads (which take batches themselves).

Everything here runs under one lock; nothing here awaits or touches the event loop. A worker that is free
calls `take()`, which forms its next batch at once when one is due and otherwise sleeps on the condition
until one is (a bucket fills up, the oldest sketch's max_wait deadline passes, or the batcher stops). So a
worker that finishes a batch goes straight on to the next one, without a round trip through the event loop.

Rule for a free worker: a bucket with >= max_batch items goes at once, the one whose head waited longest
first (no starvation). Otherwise the oldest item's bucket goes
- adaptive (the default): at once when no more sketches are on their way, i.e. no request has announced
  itself (`announce`, on the event loop, as it starts preparing its sketches) without having queued them
  yet; while some are, it waits for them, up to max_wait_s after the oldest item was queued. So a lone
  sketch never waits for company that is not coming, and the wait only buys a fuller batch when one is
  being prepared;
- fixed (Triton's rule): once the oldest item has waited max_wait_s.
While every worker is busy nothing is taken, so sketches gather and batches fill without any extra wait.
When stopping, whatever is queued goes at once (drain).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from service.inference.outputs import RawScore


@dataclass(eq=False, slots=True)
class Job:
    """One submit() call: its future resolves when all of its sketches have results (event loop only)."""

    future: asyncio.Future[list[RawScore]]
    results: list[RawScore | None]
    remaining: int


@dataclass(eq=False, slots=True)
class Item:
    job: Job
    index: int  # position in the job's list
    points: np.ndarray  # (T, 7) float32
    enqueued: float  # time.monotonic()
    trace: object = None  # the submitting request's span context (service.core.tracing), when tracing


class BucketQueue:
    def __init__(self, n_buckets: int, max_batch: int, max_wait_s: float, adaptive: bool = True) -> None:
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.adaptive = adaptive
        self._cond = threading.Condition(threading.Lock())
        self._queues: list[deque[Item]] = [deque() for _ in range(n_buckets)]
        self.depth = 0  # queued items (read without the lock for gauges and messages)
        self._waiting = 0  # workers asleep in take()
        self._incoming = 0  # requests announced and not yet queued (or withdrawn)
        self._stopping = False  # drain: partial batches go at once, take() returns None when empty
        self._flushing = False  # shutting down: partial batches go at once, workers keep taking
        self._closed = False  # take() returns None at once

    # --- event loop side ----------------------------------------------------------------------------
    def announce(self) -> None:
        """A request has started preparing sketches it will queue (or withdraw): adaptive waits for it."""
        with self._cond:
            self._incoming += 1

    def idle(self, workers: int, announced: bool) -> bool:
        """Nothing queued, all `workers` asleep waiting for work, nothing else on its way (but the caller's own
        announcement, when `announced`), and not stopping: a lone sketch could be computed right now."""
        with self._cond:
            return (self.depth == 0 and self._waiting == workers and self._incoming == int(announced)
                    and not (self._stopping or self._flushing or self._closed))

    def withdraw(self) -> None:
        """An announced request will queue nothing (failed, or all of its sketches were cached)."""
        with self._cond:
            self._incoming -= 1
            if self._incoming == 0 and self._waiting and self.depth:
                self._cond.notify()  # a worker may have been waiting for it

    def put(self, items: list[Item], buckets: list[int], max_queue: int, announced: bool = False) -> bool:
        """Queue a request's items (bucket index each) together, or none of them when they do not fit; an
        announced request stops being incoming when its items are queued (in the same step)."""
        with self._cond:
            if self.depth + len(items) > max_queue:
                return False
            was_empty = self.depth == 0
            for item, b in zip(items, buckets, strict=True):
                self._queues[b].append(item)
            self.depth += len(items)
            if announced:
                self._incoming -= 1
            # Wake a sleeping worker only if this can change its choice: it slept without a deadline
            # (nothing was queued), a bucket has just filled up, or nothing more is on its way (adaptive).
            # Busy workers look when they finish.
            if self._waiting and (was_empty or (self.adaptive and self._incoming == 0)
                                  or any(len(self._queues[b]) >= self.max_batch for b in set(buckets))):
                self._cond.notify()
            return True

    def remove(self, job: Job) -> int:
        """Drop a cancelled or finished job's items that are still queued; returns how many."""
        removed = 0
        with self._cond:
            for b, q in enumerate(self._queues):
                if any(item.job is job for item in q):
                    kept = deque(item for item in q if item.job is not job)
                    removed += len(q) - len(kept)
                    self._queues[b] = kept
            self.depth -= removed
        return removed

    def flush(self) -> None:
        """From now on partial batches go at once (no waiting for fuller ones); workers keep taking."""
        with self._cond:
            self._flushing = True
            self._cond.notify_all()

    def stop(self) -> None:
        """Drain: workers take what is queued at once and return None from take() when it is empty."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def close(self) -> list[Item]:
        """Workers stop taking (after the batch they compute); returns the items still queued."""
        with self._cond:
            self._closed = True
            left = [item for q in self._queues for item in q]
            for q in self._queues:
                q.clear()
            self.depth = 0
            self._cond.notify_all()
        return left

    # --- worker side --------------------------------------------------------------------------------
    def take(self) -> tuple[int, list[Item]] | None:
        """A free worker's next batch (bucket index, up to max_batch live items of that bucket), waiting
        until one is due; None when the batcher stops and nothing is left (or it is closed)."""
        with self._cond:
            while not self._closed:
                bucket, delay = self._choose()
                if bucket is not None:
                    items = self._pop(bucket)
                    if self._waiting and self.depth:
                        self._cond.notify()  # another free worker may have a batch due too
                    if items:
                        return bucket, items
                    continue  # only cancelled items were at the head
                if self._stopping and self.depth == 0:
                    return None
                self._waiting += 1
                try:
                    self._cond.wait(delay)
                finally:
                    self._waiting -= 1
            return None

    def _choose(self) -> tuple[int | None, float | None]:
        """(bucket due now or None, seconds to sleep at most: None = until notified). Under the lock."""
        oldest_b, oldest_t = None, float("inf")
        full_b, full_t = None, float("inf")  # the full bucket whose head waited longest
        for b, q in enumerate(self._queues):
            if q:
                head = q[0].enqueued
                if head < oldest_t:
                    oldest_b, oldest_t = b, head
                if head < full_t and len(q) >= self.max_batch:
                    full_b, full_t = b, head
        if oldest_b is None:
            return None, None
        if full_b is not None:
            return full_b, 0.0
        if self._stopping or self._flushing or (self.adaptive and self._incoming == 0):
            return oldest_b, 0.0
        delay = oldest_t + self.max_wait_s - time.monotonic()
        return (oldest_b, 0.0) if delay <= 0 else (None, delay)

    def _pop(self, bucket: int) -> list[Item]:
        """Up to max_batch items from the bucket's head, skipping those whose job is already done."""
        q = self._queues[bucket]
        items: list[Item] = []
        taken = 0
        while q and len(items) < self.max_batch:
            item = q.popleft()
            taken += 1
            if not item.job.future.done():  # a plain state read; the job is settled on the event loop
                items.append(item)
        self.depth -= taken
        return items
