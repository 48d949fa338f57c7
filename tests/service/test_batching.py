"""Micro-batching: results do not depend on batching (through HTTP), and the batcher's mechanics (in process)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from svc_support import ServerProc, metric, metrics_text, wait_until

from service.core.errors import InferenceError, QueueFullError, QueueTimeoutError, ShuttingDownError
from service.core.metrics import Metrics
from service.core.settings import Settings
from service.inference.batcher import Batcher, BatcherConfig
from service.inference.engine import Engine
from service.inference.loaded_model import LoadedModel
from service.inference.outputs import EngineOutputs
from sketchprep.preprocess import sketch_to_points
from sketchprep.strokes import strokes_from_drawing


def post(url: str, sketches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = httpx.post(f"{url}/score", json={"sketches": sketches, "top_k": 5}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def batches_bigger_than_one(text: str) -> float:
    return metric(text, "sketchq_batch_size_count") - metric(text, "sketchq_batch_size_bucket", le="1.0")


def test_alone_or_in_a_batch_the_answer_is_identical(server: ServerProc, sketches: list[dict]) -> None:
    """64 sketches in one request vs each sent alone vs all sent concurrently: bit-identical answers."""
    chosen = sketches[:64]
    in_one_request = post(server.url, chosen)
    before = metrics_text(server.url)
    alone = [post(server.url, [s])[0] for s in chosen]  # sequential: every batch holds one sketch
    after_alone = metrics_text(server.url)
    assert batches_bigger_than_one(after_alone) == batches_bigger_than_one(before)
    # ... computed on the event loop: each was the only request, the batcher idle (inline_when_idle)
    inline = metric(after_alone, "sketchq_inline_computes_total")
    assert inline - metric(before, "sketchq_inline_computes_total") == len(chosen)
    assert alone == in_one_request

    with ThreadPoolExecutor(32) as pool:  # concurrent single-sketch requests get batched together
        concurrent = list(pool.map(lambda s: post(server.url, [s])[0], chosen * 2))
    after_concurrent = metrics_text(server.url)
    assert batches_bigger_than_one(after_concurrent) > batches_bigger_than_one(after_alone)
    assert metric(after_concurrent, "sketchq_inline_computes_total") - inline < len(chosen) * 2  # not all inline
    # the protocol's count of requests being served went back down: a lone request is computed inline again
    assert post(server.url, chosen[:1]) == in_one_request[:1]
    inline_after = metric(metrics_text(server.url), "sketchq_inline_computes_total")
    assert inline_after == metric(after_concurrent, "sketchq_inline_computes_total") + 1
    assert concurrent == in_one_request * 2
    lengths = {len(sketch_to_points(strokes_from_drawing(s["strokes"]))) for s in chosen}
    assert len(lengths) > 5  # the sketches really differ in length, so padding differed between calls


# --- the batcher in process, on the real engine ------------------------------------------------------

class RecordingEngine:
    """The real engine, recording each batch's shape; can be made to fail, or to hold its first batch until
    `release` is set (a long computation, during which the test queues more work)."""

    def __init__(self, engine: Engine, hold_first: bool = False) -> None:
        self.engine = engine
        self.shapes: list[tuple[int, int]] = []
        self.threads: list[str] = []  # the thread that ran each batch
        self.fail = False
        self.release = threading.Event()
        self.computing = [threading.Event() for _ in range(8)]  # set when batch k starts
        if not hold_first:
            self.release.set()

    def run(self, points: np.ndarray, lengths: np.ndarray) -> EngineOutputs:
        self.shapes.append(points.shape[:2])
        self.threads.append(threading.current_thread().name)
        self.computing[min(len(self.shapes), len(self.computing)) - 1].set()
        if self.fail:
            raise InferenceError("injected failure")
        out = self.engine.run(points, lengths)
        assert self.release.wait(10), "the test never released the first batch"
        return out


async def until(check: Any, what: str, timeout_s: float = 10.0) -> None:
    """Await (polling the event loop) until check() is true, failing after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        await asyncio.sleep(0.001)


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


@pytest.fixture(scope="module")
def engine(model_path: Path) -> Engine:
    settings = Settings(model_dir=model_path)
    return Engine(LoadedModel.load(model_path), settings)


@pytest.fixture(scope="module")
def points(sketches: list[dict]) -> list[np.ndarray]:
    return [sketch_to_points(strokes_from_drawing(s["strokes"])) for s in sketches]  # (T_i, 7) each


def run_batcher(engine: Engine, config: BatcherConfig, body: Any) -> tuple[Any, RecordingEngine, Metrics]:
    rec, metrics = RecordingEngine(engine), Metrics()

    async def main() -> Any:
        batcher = Batcher(rec.run, config, metrics)
        await batcher.start()
        try:
            return await body(batcher)
        finally:
            await batcher.stop(timeout_s=10)

    return asyncio.run(main()), rec, metrics


def alone(engine: Engine, p: np.ndarray, length: int) -> tuple[float, np.ndarray, int]:
    batch = np.zeros((1, length, 7), np.float32)
    batch[0, : len(p)] = p
    out = engine.run(batch, np.array([len(p)], np.int64))
    return float(out.q[0]), out.cos[0], int(out.pred[0])


def test_a_big_request_is_split_into_batches_of_one_bucket_each(engine: Engine, points: list[np.ndarray]) -> None:
    buckets = [32, 64, 96, engine.model.preprocess.max_points]
    config = BatcherConfig(max_batch=16, max_wait_s=0.001, buckets=buckets, workers=2)
    many = list(itertools.islice(itertools.cycle(points), 150))
    results, rec, metrics = run_batcher(engine, config, lambda b: b.submit(many))
    assert len(results) == 150
    assert sum(b for b, _ in rec.shapes) == 150
    assert all(b <= 16 for b, _ in rec.shapes) and all(t in buckets for _, t in rec.shapes)
    assert len(rec.shapes) >= 150 // 16
    for p, r in zip(many, results, strict=True):
        bucket = buckets[int(np.searchsorted(buckets, len(p)))]
        q, cos, pred = alone(engine, p, bucket)
        assert (r.q, r.pred) == (q, pred) and np.array_equal(r.cos, cos)
    assert sample(metrics, "sketchq_sketches_scored_total", source="model") == 150


def test_cancelled_requests_are_dropped_before_compute(engine: Engine, points: list[np.ndarray]) -> None:
    config = BatcherConfig(max_batch=64, max_wait_s=5.0, adaptive_wait=False,
                           buckets=[engine.model.preprocess.max_points])

    async def body(batcher: Batcher) -> int:
        task = asyncio.create_task(batcher.submit(points[:5]))
        await until(lambda: batcher.depth == 5, "queueing 5 sketches")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return batcher.depth

    depth, rec, metrics = run_batcher(engine, config, body)
    assert depth == 0 and rec.shapes == []
    assert sample(metrics, "sketchq_dropped_sketches_total", reason="client_gone") == 5


def test_queue_full_and_timeout(engine: Engine, points: list[np.ndarray]) -> None:
    config = BatcherConfig(max_batch=64, max_wait_s=5.0, adaptive_wait=False, max_queue=6, timeout_s=0.3,
                           buckets=[engine.model.preprocess.max_points])

    async def body(batcher: Batcher) -> None:
        first = asyncio.create_task(batcher.submit(points[:4]))
        await until(lambda: batcher.depth == 4, "queueing 4 sketches")
        with pytest.raises(QueueFullError) as full:
            await batcher.submit(points[:3])
        assert full.value.headers() == {"Retry-After": "1"}
        with pytest.raises(QueueTimeoutError):
            await first
        assert batcher.depth == 0

    _, rec, metrics = run_batcher(engine, config, body)
    assert rec.shapes == []
    assert sample(metrics, "sketchq_rejected_requests_total", reason="queue_full") == 1
    assert sample(metrics, "sketchq_dropped_sketches_total", reason="timeout") == 4


def test_stop_drains_the_queue(engine: Engine, points: list[np.ndarray]) -> None:
    config = BatcherConfig(max_batch=64, max_wait_s=5.0, adaptive_wait=False,
                           buckets=[engine.model.preprocess.max_points])

    async def body(batcher: Batcher) -> list[Any]:
        task = asyncio.create_task(batcher.submit(points[:3]))
        await until(lambda: batcher.depth == 3, "queueing 3 sketches")
        await batcher.stop(timeout_s=10)  # does not wait the 5 s: stopping flushes at once
        return await task

    results, rec, _ = run_batcher(engine, config, body)
    assert len(results) == 3 and rec.shapes == [(3, engine.model.preprocess.max_points)]


def test_an_idle_batcher_computes_a_lone_sketch_on_the_event_loop(engine: Engine, points: list[np.ndarray]) -> None:
    """Nothing else queued or on its way: the one-sketch request is computed on the loop's own thread (no
    thread hand-offs), with the same numbers as alone through a worker; a request of two goes to the workers."""
    length = engine.model.preprocess.max_points
    config = BatcherConfig(max_batch=64, max_wait_s=0.0, buckets=[length])

    async def body(batcher: Batcher) -> tuple[list[Any], list[Any], str]:
        return await batcher.submit(points[:1]), await batcher.submit(points[:2]), threading.current_thread().name

    (one, two, loop_thread), rec, metrics = run_batcher(engine, config, body)
    assert rec.threads[0] == loop_thread and all(t.startswith("sketchq-engine") for t in rec.threads[1:])
    q, cos, pred = alone(engine, points[0], length)
    assert (one[0].q, one[0].pred) == (q, pred) == (two[0].q, two[0].pred) and np.array_equal(one[0].cos, cos)
    assert sample(metrics, "sketchq_sketches_scored_total", source="model") == 3

    off = BatcherConfig(max_batch=64, max_wait_s=0.0, buckets=[length], inline_when_idle=False)
    _, rec_off, _ = run_batcher(engine, off, lambda b: b.submit(points[:1]))
    assert rec_off.threads[0].startswith("sketchq-engine")


def test_a_lone_sketch_is_not_computed_inline_while_a_worker_is_busy(engine: Engine, points: list[np.ndarray]) -> None:
    config = BatcherConfig(max_batch=64, max_wait_s=0.0, workers=1, buckets=[engine.model.preprocess.max_points])
    rec = RecordingEngine(engine, hold_first=True)

    async def main() -> None:
        batcher = Batcher(rec.run, config, Metrics())
        await batcher.start()
        try:
            first = asyncio.create_task(batcher.submit(points[:2]))
            await until(rec.computing[0].is_set, "the first batch")
            second = asyncio.create_task(batcher.submit(points[2:3]))
            await until(lambda: batcher.depth == 1, "queueing the lone sketch behind the busy worker")
            rec.release.set()
            await asyncio.gather(first, second)
        finally:
            await batcher.stop()

    asyncio.run(main())
    assert [b for b, _ in rec.shapes] == [2, 1] and all(t.startswith("sketchq-engine") for t in rec.threads)


def test_adaptive_a_lone_sketch_goes_at_once(engine: Engine, points: list[np.ndarray]) -> None:
    """Nothing else on its way: a free worker computes a lone sketch at once, whatever max_wait is (a fixed
    wait of 60 s would fail the 10 s bound)."""
    config = BatcherConfig(max_batch=64, max_wait_s=60.0, buckets=[engine.model.preprocess.max_points],
                           inline_when_idle=False)

    async def body(batcher: Batcher) -> list[Any]:
        return [await asyncio.wait_for(batcher.submit(points[k:k + 1]), 10) for k in range(3)]

    results, rec, _ = run_batcher(engine, config, body)
    assert len(results) == 3 and [b for b, _ in rec.shapes] == [1, 1, 1]


def test_adaptive_waits_for_an_announced_request_and_batches_it(engine: Engine, points: list[np.ndarray]) -> None:
    """A request that has announced itself (preparing its sketches) holds a free worker's partial batch
    until its sketches are queued: one batch of both requests, not two."""
    config = BatcherConfig(max_batch=64, max_wait_s=60.0, buckets=[engine.model.preprocess.max_points])

    async def body(batcher: Batcher) -> list[Any]:
        with batcher.arriving() as arrival:
            first = asyncio.create_task(batcher.submit(points[:1]))
            await until(lambda: batcher.depth == 1, "queueing the first sketch")
            second = asyncio.create_task(batcher.submit(points[1:3], arrival))
            return await asyncio.wait_for(asyncio.gather(first, second), 10)

    results, rec, _ = run_batcher(engine, config, body)
    assert [len(r) for r in results] == [1, 2] and [b for b, _ in rec.shapes] == [3]


def test_adaptive_a_withdrawn_announcement_releases_the_batch(engine: Engine, points: list[np.ndarray]) -> None:
    """An announced request that queues nothing (all cached, or failed) must not hold the others for max_wait."""
    config = BatcherConfig(max_batch=64, max_wait_s=60.0, buckets=[engine.model.preprocess.max_points])

    async def body(batcher: Batcher) -> list[Any]:
        with batcher.arriving():
            first = asyncio.create_task(batcher.submit(points[:1]))
            await until(lambda: batcher.depth == 1, "queueing the first sketch")
            assert not first.done()
        return await asyncio.wait_for(first, 10)  # leaving the block withdrew the announcement

    results, rec, _ = run_batcher(engine, config, body)
    assert len(results) == 1 and [b for b, _ in rec.shapes] == [1]


def test_an_engine_failure_fails_only_that_request(engine: Engine, points: list[np.ndarray]) -> None:
    config = BatcherConfig(max_batch=8, max_wait_s=0.0, buckets=[engine.model.preprocess.max_points])
    rec_holder: list[RecordingEngine] = []

    async def body(batcher: Batcher) -> list[Any]:
        rec = rec_holder[0]
        rec.fail = True
        with pytest.raises(InferenceError):
            await batcher.submit(points[:2])
        rec.fail = False
        return await batcher.submit(points[:2])

    rec = RecordingEngine(engine)
    rec_holder.append(rec)

    async def main() -> list[Any]:
        batcher = Batcher(rec.run, config, Metrics())
        await batcher.start()
        try:
            return await body(batcher)
        finally:
            await batcher.stop()

    assert len(asyncio.run(main())) == 2


def test_while_workers_are_busy_partial_batches_wait_and_grow(engine: Engine, points: list[np.ndarray]) -> None:
    """Sketches arriving while the only worker computes are gathered into one batch, not handed out one by one."""
    config = BatcherConfig(inline_when_idle=False, max_batch=64, max_wait_s=0.0, workers=1,
                           buckets=[engine.model.preprocess.max_points])
    rec = RecordingEngine(engine, hold_first=True)

    async def main() -> list[Any]:
        batcher = Batcher(rec.run, config, Metrics())
        await batcher.start()
        try:
            tasks = [asyncio.create_task(batcher.submit(points[:1]))]
            await until(rec.computing[0].is_set, "the first batch")
            for k in range(8):  # arrive one by one while the first batch is being computed
                tasks.append(asyncio.create_task(batcher.submit(points[k + 1:k + 2])))
                await until(lambda k=k: batcher.depth == k + 1, f"queueing sketch {k + 1}")
            rec.release.set()
            return await asyncio.gather(*tasks)
        finally:
            await batcher.stop()

    results = asyncio.run(main())
    assert len(results) == 9
    assert [b for b, _ in rec.shapes] == [1, 8]


def test_full_buckets_are_served_oldest_first(engine: Engine, points: list[np.ndarray]) -> None:
    """With several full buckets the one whose head waited longest goes first: long sketches do not starve."""
    short = min(points, key=len)
    long = max(points, key=len)
    buckets = [len(short), engine.model.preprocess.max_points]
    config = BatcherConfig(inline_when_idle=False, max_batch=1, max_wait_s=0.0, workers=1, buckets=buckets)
    rec = RecordingEngine(engine, hold_first=True)

    async def main() -> None:
        batcher = Batcher(rec.run, config, Metrics())
        await batcher.start()
        try:
            tasks = [asyncio.create_task(batcher.submit([short]))]
            await until(rec.computing[0].is_set, "the first batch")
            tasks.append(asyncio.create_task(batcher.submit([long])))
            await until(lambda: batcher.depth == 1, "queueing the long sketch")
            tasks += [asyncio.create_task(batcher.submit([short])) for _ in range(4)]
            await until(lambda: batcher.depth == 5, "queueing four short sketches after it")
            rec.release.set()
            await asyncio.gather(*tasks)
        finally:
            await batcher.stop()

    asyncio.run(main())
    assert [t for _, t in rec.shapes] == [buckets[0], buckets[1]] + [buckets[0]] * 4


def test_a_free_worker_takes_its_next_batch_while_the_event_loop_is_blocked(engine: Engine,
                                                                            points: list[np.ndarray]) -> None:
    """The worker that finishes a batch forms the next one itself: no round trip through the event loop."""
    config = BatcherConfig(max_batch=64, max_wait_s=0.0, workers=1, buckets=[engine.model.preprocess.max_points],
                           inline_when_idle=False)
    rec = RecordingEngine(engine, hold_first=True)

    async def main() -> bool:
        batcher = Batcher(rec.run, config, Metrics())
        await batcher.start()
        try:
            first = asyncio.create_task(batcher.submit(points[:1]))
            await until(rec.computing[0].is_set, "the first batch")
            second = asyncio.create_task(batcher.submit(points[1:3]))  # queued while the worker computes
            await until(lambda: batcher.depth == 2, "queueing the second request")
            rec.release.set()
            # The event loop is blocked (parsing, preprocessing...) from here on: the worker must take the
            # second batch by itself. A plain wait blocks the loop thread until it does (or 10 s pass).
            taken_while_blocked = rec.computing[1].wait(10)
            await asyncio.gather(first, second)
            return taken_while_blocked
        finally:
            await batcher.stop()

    assert asyncio.run(main())
    assert [b for b, _ in rec.shapes] == [1, 2]


def test_stop_after_its_timeout_fails_what_is_still_queued(engine: Engine, points: list[np.ndarray]) -> None:
    config = BatcherConfig(max_batch=1, max_wait_s=0.0, workers=1, buckets=[engine.model.preprocess.max_points],
                           inline_when_idle=False)
    rec = RecordingEngine(engine, hold_first=True)

    async def main() -> tuple[list[Any], bool]:
        batcher = Batcher(rec.run, config, Metrics())
        await batcher.start()
        tasks = [asyncio.create_task(batcher.submit(points[k:k + 1])) for k in range(3)]
        await until(lambda: rec.computing[0].is_set() and batcher.depth == 2, "one computing, two queued")
        await batcher.stop(timeout_s=0.2)
        alive_after_stop = batcher.alive
        rec.release.set()
        return await asyncio.gather(*tasks, return_exceptions=True), alive_after_stop

    results, alive_after_stop = asyncio.run(main())
    assert not alive_after_stop
    assert [type(r) for r in results[1:]] == [ShuttingDownError, ShuttingDownError]


def test_workers_exit_when_the_batcher_stops(engine: Engine, points: list[np.ndarray]) -> None:
    config = BatcherConfig(max_batch=4, max_wait_s=0.001, workers=3, buckets=[engine.model.preprocess.max_points],
                           inline_when_idle=False)

    async def main() -> None:
        batcher = Batcher(engine.run, config, Metrics())
        await batcher.start()
        assert batcher.alive
        results = await asyncio.gather(*(batcher.submit(points[k:k + 3]) for k in range(20)))
        assert all(len(r) == 3 for r in results)
        await batcher.stop(timeout_s=10)

    asyncio.run(main())
    workers = [t for t in threading.enumerate() if t.name.startswith("sketchq-engine_")]
    for t in workers:
        t.join(timeout=2)
    assert not any(t.is_alive() for t in workers)


def test_requests_whose_client_left_stop_counting_as_served(server: ServerProc, sketches: list[dict]) -> None:
    """The protocol counts a request from its head to its answer; a client that leaves mid-body must be
    uncounted when its connection is lost, or the server would never again see itself idle (and lone
    sketches would stop being computed inline)."""
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{\"sketches\": [")  # and then leaves

    def one_lone_request_is_inline() -> bool:
        before = metric(metrics_text(server.url), "sketchq_inline_computes_total")
        post(server.url, sketches[:1])
        return metric(metrics_text(server.url), "sketchq_inline_computes_total") == before + 1

    wait_until(one_lone_request_is_inline, what="a lone request computed inline again")
