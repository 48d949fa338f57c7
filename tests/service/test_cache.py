"""The result cache: a real redis-server (hits, TTLs, killed mid-run, a silent one) and the in-process LRU."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis
from svc_support import RedisProc, ServerProc, metric, metrics_text, wait_until

from service.cache.keys import cache_key
from service.core.settings import Settings
from service.main import create_app
from sketchprep.preprocess import sketch_to_points
from sketchprep.strokes import stroke3_to_strokes, strokes_from_drawing, strokes_to_stroke3


@pytest.fixture(scope="module")
def redis_proc() -> Iterator[RedisProc]:
    proc = RedisProc()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def redis_server(model_path: Path, redis_proc: RedisProc) -> Iterator[ServerProc]:
    srv = ServerProc(model_dir=model_path, redis_url=redis_proc.url, cache_retry_s=0.2, cache_timeout_ms=100)
    yield srv
    srv.stop()


def post(url: str, sketches: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{url}/score", json={"sketches": sketches}, timeout=30)


def without_cached(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "cached"} for r in results]


def test_redis_hit_returns_cached_true_with_identical_values(redis_server: ServerProc, redis_proc: RedisProc,
                                                             sketches: list[dict]) -> None:
    first = post(redis_server.url, sketches[:5]).json()["results"]
    assert [r["cached"] for r in first] == [False] * 5
    second = post(redis_server.url, sketches[:5]).json()["results"]
    assert [r["cached"] for r in second] == [True] * 5
    assert without_cached(second) == without_cached(first)

    mixed = post(redis_server.url, sketches[3:8]).json()["results"]
    assert [r["cached"] for r in mixed] == [True, True, False, False, False]

    # The same drawing as stroke-3 is the same canonical sketch: a hit.
    rows = strokes_to_stroke3(strokes_from_drawing(sketches[0]["strokes"])).tolist()
    again = post(redis_server.url, [{"stroke3": rows, "label": sketches[0]["label"]}]).json()["results"][0]
    assert again["cached"] is True and without_cached([again]) == without_cached(first[:1])

    client = redis.Redis.from_url(redis_proc.url)
    keys = client.keys("sketchq:score:*")
    assert len(keys) == 8
    assert all(0 < client.ttl(k) <= 7 * 24 * 3600 for k in keys)  # every key has a TTL

    text = metrics_text(redis_server.url)
    assert metric(text, "sketchq_cache_requests_total", outcome="hit") == 5 + 2 + 1
    assert metric(text, "sketchq_cache_requests_total", outcome="miss") == 5 + 3


def test_redis_killed_mid_run_is_served_uncached(redis_server: ServerProc, redis_proc: RedisProc,
                                                 sketches: list[dict]) -> None:
    probe = sketches[40:42]
    post(redis_server.url, probe)
    assert all(r["cached"] for r in post(redis_server.url, probe).json()["results"])
    errors_before = metric(metrics_text(redis_server.url), "sketchq_cache_requests_total", outcome="error")

    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:  # requests keep coming while Redis dies
        i = 0
        while not stop.is_set():
            statuses.append(post(redis_server.url, [sketches[i % 40]]).status_code)
            i += 1

    def errors() -> float:
        return metric(metrics_text(redis_server.url), "sketchq_cache_requests_total", outcome="error")

    worker = threading.Thread(target=load)
    worker.start()
    wait_until(lambda: len(statuses) >= 3, what="requests before the outage")
    redis_proc.stop()  # SIGKILL
    wait_until(lambda: errors() > errors_before, what="the outage noticed")
    after = post(redis_server.url, probe)
    served = len(statuses)
    wait_until(lambda: len(statuses) >= served + 3, what="requests during the outage")
    stop.set()
    worker.join()

    assert after.status_code == 200
    assert [r["cached"] for r in after.json()["results"]] == [False, False]
    assert statuses and set(statuses) == {200}
    text = metrics_text(redis_server.url)
    assert metric(text, "sketchq_cache_requests_total", outcome="error") > errors_before
    assert metric(text, "sketchq_cache_outages_total") == 1
    assert redis_server.log().count("Redis cache unavailable") == 1  # one log line per outage

    # Redis comes back (empty) on the same port: the cache works again after cache_retry_s.
    restarted = RedisProc(port=redis_proc.port)
    redis_proc.proc = restarted.proc
    wait_until(lambda: post(redis_server.url, probe).status_code == 200 and "Redis cache is back" in redis_server.log(),
               what="Redis used again")
    assert [r["cached"] for r in post(redis_server.url, probe).json()["results"]] == [True, True]
    assert redis_server.log().count("Redis cache is back") == 1


# --- in process: the app over httpx's ASGI transport --------------------------------------------------

async def _with_app(settings: Settings, body: Any) -> Any:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=30) as client:
            return await body(client, app.state.service)


def test_memory_cache_hits_evicts_and_expires(model_path: Path, sketches: list[dict]) -> None:
    settings = Settings(model_dir=model_path, cache="memory", cache_max_entries=2, cache_ttl_s=1)

    async def body(c: httpx.AsyncClient, state: Any) -> None:
        clock = [0.0]  # the cache's seconds: every entry below is written at 0
        state.cache.clock = lambda: clock[0]

        async def cached(batch: list[dict]) -> list[bool]:
            r = await c.post("/score", json={"sketches": batch})
            assert r.status_code == 200
            return [x["cached"] for x in r.json()["results"]]

        a, b, d = sketches[0], sketches[1], sketches[2]
        assert await cached([a, b]) == [False, False]
        assert await cached([a, b]) == [True, True]
        assert await cached([d]) == [False]  # evicts the least recently used (a)
        assert await cached([b, a]) == [True, False]
        clock[0] = 0.999  # within the 1 s TTL of every entry ...
        assert await cached([b]) == [True]
        clock[0] = 1.001  # ... and past it
        assert await cached([b]) == [False]

    asyncio.run(_with_app(settings, body))


def test_silent_redis_times_out_fast_and_counts_errors(model_path: Path, sketches: list[dict]) -> None:
    """A Redis that accepts connections and never answers: answered uncached within the short timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    settings = Settings(model_dir=model_path, redis_url=url, cache_timeout_ms=100, cache_retry_s=0)

    async def body(c: httpx.AsyncClient, state: Any) -> tuple[list[float], str]:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            r = await c.post("/score", json={"sketches": sketches[:2]})
            times.append(time.perf_counter() - start)
            assert r.status_code == 200 and [x["cached"] for x in r.json()["results"]] == [False, False]
        return times, (await c.get("/metrics")).text

    try:
        times, text = asyncio.run(_with_app(settings, body))
    finally:
        listener.close()
    assert max(times) < 1.5  # get and set each give up after 100 ms
    assert metric(text, "sketchq_cache_requests_total", outcome="error") == 6
    assert metric(text, "sketchq_cache_requests_total", outcome="hit") == 0


def test_cache_key_is_canonical_and_scoped(sketches: list[dict]) -> None:
    strokes = strokes_from_drawing(sketches[0]["strokes"])
    p1 = sketch_to_points(strokes)
    p2 = sketch_to_points(stroke3_to_strokes(strokes_to_stroke3(strokes)))
    p3 = sketch_to_points([s * 3.0 + 7.0 for s in strokes])
    key = cache_key("a" * 64, "score", {}, p1)
    assert key == cache_key("a" * 64, "score", {}, p2)
    assert np.allclose(p1, p3) and key.startswith("sketchq:score:") and len(key.split(":")[-1]) == 64
    assert key != cache_key("b" * 64, "score", {}, p1)  # another model
    assert key != cache_key("a" * 64, "attribute", {}, p1)  # another operation
    assert key != cache_key("a" * 64, "score", {"k": 1}, p1)  # other options
    assert key != cache_key("a" * 64, "score", {}, p1[:-1])
