"""Back-pressure and lifecycle on a real server: queue full -> 503 + Retry-After, clients that leave are
dropped from the queue, SIGTERM fails readiness first and drains."""

from __future__ import annotations

import json
import random
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from svc_support import ServerProc, is_problem, metric, metrics_text, wait_until

# A queue of 4 sketches, and workers that always wait 1.5 s for a batch of 64 to fill (the fixed rule: the
# adaptive one computes a lone request at once): whatever is queued stays queued long enough for the tests to see.
SLOW_QUEUE = {"max_queue": 4, "max_sketches": 4, "max_batch": 64, "max_wait_ms": 1500, "batch_wait": "fixed",
              "inline_when_idle": False, "cache": "off", "retry_after_s": 2}


@pytest.fixture(scope="module")
def slow_server(model_path: Path) -> Iterator[ServerProc]:
    srv = ServerProc(model_dir=model_path, **SLOW_QUEUE)
    yield srv
    srv.stop()


def post(url: str, sketches: list[dict]) -> httpx.Response:
    return httpx.post(f"{url}/score", json={"sketches": sketches}, timeout=30)


def queue_depth(url: str) -> int:
    return httpx.get(f"{url}/readyz", timeout=5).json()["queue_depth"]


def test_queue_full_is_503_with_retry_after(slow_server: ServerProc, sketches: list[dict]) -> None:
    holder: list[httpx.Response] = []
    first = threading.Thread(target=lambda: holder.append(post(slow_server.url, sketches[:3])))
    first.start()
    wait_until(lambda: queue_depth(slow_server.url) == 3, what="3 sketches queued")  # waiting for a fuller batch
    r = post(slow_server.url, sketches[3:5])  # 3 + 2 > 4
    body = is_problem(r, 503)
    assert r.headers["retry-after"] == "2"
    assert "queue is full" in body["detail"]
    one_more = post(slow_server.url, sketches[5:6])  # 3 + 1 fits
    first.join()
    assert holder[0].status_code == 200 and one_more.status_code == 200
    assert metric(metrics_text(slow_server.url), "sketchq_rejected_requests_total", reason="queue_full") >= 1


def test_overload_is_shed_before_the_body_is_read(slow_server: ServerProc, sketches: list[dict]) -> None:
    """Issue 14, defect 4: with the queue at its bound, a work request is refused from its head alone: the
    503 comes although the body has not been sent (it used to be read, parsed and preprocessed first)."""
    holder: list[httpx.Response] = []
    first = threading.Thread(target=lambda: holder.append(post(slow_server.url, sketches[:4])))
    first.start()
    wait_until(lambda: metric(metrics_text(slow_server.url), "sketchq_queue_depth") == 4, what="the queue full")
    before = metric(metrics_text(slow_server.url), "sketchq_rejected_requests_total", reason="shed")
    with socket.create_connection(("127.0.0.1", slow_server.port)) as s:
        s.sendall(b"POST /attribute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000\r\n\r\n")  # and no body at all
        s.settimeout(10)
        head = s.recv(65536)
    assert head.startswith(b"HTTP/1.1 503 "), head
    assert b"application/problem+json" in head and b"retry-after: 2" in head.lower()
    first.join()
    assert holder[0].status_code == 200
    assert metric(metrics_text(slow_server.url), "sketchq_rejected_requests_total", reason="shed") == before + 1


def test_a_client_that_leaves_is_dropped_from_the_queue(slow_server: ServerProc, sketches: list[dict]) -> None:
    before = metrics_text(slow_server.url)
    payload = json.dumps({"sketches": sketches[:2]}).encode()
    with socket.create_connection(("127.0.0.1", slow_server.port)) as s:
        s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
        wait_until(lambda: queue_depth(slow_server.url) == 2, what="2 sketches queued")  # waiting for the batch
    wait_until(lambda: queue_depth(slow_server.url) == 0, what="the closed connection noticed")
    # One more sketch, answered after its own max_wait: had the two stayed, they would have been computed
    # with it or before it.
    assert post(slow_server.url, sketches[2:3]).status_code == 200
    after = metrics_text(slow_server.url)
    assert metric(after, "sketchq_dropped_sketches_total", reason="client_gone") == \
        metric(before, "sketchq_dropped_sketches_total", reason="client_gone") + 2
    assert metric(after, "sketchq_sketches_scored_total", source="model") == \
        metric(before, "sketchq_sketches_scored_total", source="model") + 1


def test_costly_sketches_do_not_stall_the_server(server: ServerProc) -> None:
    """Simplifying long noisy sketches is slow; it happens off the event loop, so probes still answer."""
    rng = random.Random(0)
    # 20 x 1000 random integer points: the request point limit, and under the body limit
    noisy = [{"strokes": [[[rng.randint(0, 255) for _ in range(1000)], [rng.randint(0, 255) for _ in range(1000)]]]}
             for _ in range(20)]
    # Twelve such requests at once, so the work lasts long enough to probe on a fast machine too (four took
    # 0.4 s here once RDP got faster).
    holder: list[httpx.Response] = []
    start = time.perf_counter()
    bigs = [threading.Thread(target=lambda: holder.append(post(server.url, noisy))) for _ in range(12)]
    for big in bigs:
        big.start()
    probe_times = []
    while any(big.is_alive() for big in bigs):
        t = time.perf_counter()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        probe_times.append(time.perf_counter() - t)
        time.sleep(0.05)
    for big in bigs:
        big.join()
    busy = time.perf_counter() - start
    assert [r.status_code for r in holder] == [200] * 12
    assert busy > 0.5  # the requests were really costly ...
    assert len(probe_times) >= 3 and max(probe_times) < min(0.5, busy / 3)  # ... and the server answered meanwhile


def test_sigterm_fails_readiness_then_drains_and_exits(model_path: Path, sketches: list[dict]) -> None:
    srv = ServerProc(model_dir=model_path, cache="off", max_wait_ms=800, batch_wait="fixed", inline_when_idle=False,
                     shutdown_grace_s=1.0)
    try:
        holder: list[httpx.Response] = []
        inflight = threading.Thread(target=lambda: holder.append(post(srv.url, sketches[:2])))
        inflight.start()
        wait_until(lambda: queue_depth(srv.url) == 2, what="the in-flight request queued")
        srv.signal(signal.SIGTERM)
        r = wait_until(lambda: (r := httpx.get(f"{srv.url}/readyz")).status_code == 503 and r, what="readiness failing")
        assert "shutting down" in is_problem(r, 503)["detail"]
        assert post(srv.url, sketches[2:3]).status_code == 200  # still serving during the grace period
        inflight.join()
        assert holder[0].status_code == 200
        assert srv.proc.wait(15) == 0  # a clean drain exits 0 (uvicorn would re-raise the SIGTERM: 143)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{srv.url}/healthz")
        log = srv.log()
        order = [log.index(line) for line in ("SIGTERM: failing readiness", "Shutting down",
                                              "Application shutdown complete")]
        assert order == sorted(order), log
    finally:
        srv.stop()
