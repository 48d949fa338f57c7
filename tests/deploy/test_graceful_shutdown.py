"""SIGTERM on a real `python -m service`, as Docker and Kubernetes send it when a replica is stopped.

The contract (docs/deployment.md): /readyz fails at once while requests are still served for
shutdown_grace_s (so load balancers stop routing to the replica); then the server stops accepting
connections, finishes what is in flight and queued (the batch queue is flushed without waiting for fuller
batches), answers work that arrives after that with 503 + Retry-After, and exits.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from deploy_support import Server
from server_proc import metric, read_http_answer, wait_until

GRACE_S = 1.0
# Batches of 4; a partial batch always waits 10 s for more sketches while a worker is free (the fixed rule),
# so a lone sketch stays queued until the drain flushes it (and would otherwise hit the 8 s request timeout).
SETTINGS = {"shutdown_grace_s": GRACE_S, "max_batch": 4, "max_wait_ms": 10_000, "batch_wait": "fixed",
            "inline_when_idle": False, "request_timeout_s": 8, "engine_workers": 1, "max_sketches": 8,
            "max_queue": 64, "retry_after_s": 3}


def sketch(points: int, seed: int) -> dict[str, Any]:
    """One stroke of `points` distinct points (its length picks the padding bucket: 32, 64, ...)."""
    xs = [(i * 7 + seed * 13) % 250 for i in range(points)]
    ys = [(i * i * 3 + seed * 5) % 250 for i in range(points)]
    return {"strokes": [[xs, ys]]}


def post(url: str, sketches: list[dict[str, Any]], out: dict[str, Any], key: str) -> None:
    start = time.monotonic()
    try:
        r = httpx.post(f"{url}/score", json={"sketches": sketches}, timeout=30)
        out[key] = (r.status_code, time.monotonic(), r.headers.get("retry-after"), r.text)
    except httpx.HTTPError as e:  # recorded, asserted on below
        out[key] = (repr(e), time.monotonic(), None, "")
    out[key + "_latency"] = time.monotonic() - start


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    return read_http_answer(sock, 15)


@pytest.mark.slow
def test_sigterm_fails_readiness_first_drains_the_queue_refuses_the_rest_and_exits() -> None:
    srv = Server(**SETTINGS)
    results: dict[str, Any] = {}
    try:
        # 1. A lone sketch (bucket 64) is queued, waiting for a fuller batch.
        queued = threading.Thread(target=post, args=(srv.url, [sketch(40, 1)], results, "queued"))
        queued.start()
        deadline = time.monotonic() + 5
        while httpx.get(f"{srv.url}/readyz").json()["queue_depth"] != 1:
            assert time.monotonic() < deadline, "the sketch never got queued"
            time.sleep(0.02)

        # 2. A slow client: headers and half of the body now, the rest only after the drain has begun.
        late_body = json.dumps({"sketches": [sketch(10, 2)]}).encode()
        late = socket.create_connection(("127.0.0.1", srv.port))
        late.sendall(b"POST /score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(late_body) + late_body[:10])

        # 3. SIGTERM: readiness fails at once ...
        t_sig = time.monotonic()
        srv.signal(signal.SIGTERM)
        while True:
            r = httpx.get(f"{srv.url}/readyz", timeout=2)
            if r.status_code == 503:
                break
            assert time.monotonic() - t_sig < 0.5, "readiness still passes 0.5 s after SIGTERM"
            time.sleep(0.01)
        t_unready = time.monotonic() - t_sig
        assert "shutting down" in r.json()["detail"]
        assert r.headers["retry-after"] == "3"

        # ... while requests are still served during the grace period (a full batch of 4 in bucket 32).
        post(srv.url, [sketch(10, 10 + i) for i in range(4)], results, "during_grace")
        assert results["during_grace"][0] == 200, results["during_grace"]
        assert results["during_grace"][1] - t_sig < GRACE_S
        assert "queued" not in results, "the queued sketch was answered before the drain began"

        # 4. The grace period ends: the queue is flushed (no waiting for a fuller batch) and answered.
        queued.join(15)
        status, t_done, _, _ = results["queued"]
        assert status == 200, results["queued"]
        t_queued_done = t_done - t_sig
        # Not after max_wait (10 s), not the 8 s request timeout: the drain flushed it.
        assert GRACE_S - 0.05 <= t_queued_done < GRACE_S + 1.5, t_queued_done

        # 5. The listener is closed: new connections are refused (the load balancer tries another replica).
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{srv.url}/healthz", timeout=2)

        # 6. Work that arrives after the drain began gets 503 + Retry-After, not a dropped connection.
        time.sleep(max(0.0, GRACE_S + 0.3 - (time.monotonic() - t_sig)))
        late.sendall(late_body[10:])
        code, headers, body = read_response(late)
        late.close()
        t_late = time.monotonic() - t_sig
        assert code == 503, body
        assert headers["content-type"].startswith("application/problem+json")
        assert headers["retry-after"] == "3"
        assert "shutting down" in json.loads(body)["detail"]

        # 7. The process exits by itself (uvicorn re-raises the SIGTERM after its graceful shutdown).
        assert srv.proc.wait(15) == 0
        t_exit = time.monotonic() - t_sig
        assert t_exit < GRACE_S + 3.0, t_exit
        log = srv.log()
        order = [log.index(line) for line in ("SIGTERM: failing readiness", "Shutting down", "draining",
                                              "Application shutdown complete")]
        assert order == sorted(order), log
        print(f"\nSIGTERM at 0 s: /readyz 503 after {t_unready * 1000:.0f} ms; request during grace 200 in "
              f"{results['during_grace_latency'] * 1000:.0f} ms; queued sketch 200 at {t_queued_done:.2f} s; "
              f"late request 503 at {t_late:.2f} s; exit at {t_exit:.2f} s (grace {GRACE_S} s)")
    finally:
        srv.stop()


@pytest.mark.slow
def test_sigterm_during_a_long_enhance_lets_it_finish_and_exits_0() -> None:
    """Issue 14, defect 3: a request admitted before the drain finishes, all its steps included (the batcher
    used to stop under it: 503 shutting-down), and a clean drain exits with status 0 (not 143)."""
    srv = Server(shutdown_grace_s=0, request_timeout_s=60)
    results: dict[str, Any] = {}
    body = {"sketch": sketch(40, 3), "steps": 50, "population": 16, "seed": 1}

    def enhance() -> None:
        r = httpx.post(f"{srv.url}/enhance", json=body, timeout=120)
        results["enhance"] = (r.status_code, r.json())

    try:
        worker = threading.Thread(target=enhance)
        worker.start()

        def searching() -> bool:  # the only request: past its first scoring step (the input and z0's decode)
            text = httpx.get(f"{srv.url}/metrics", timeout=5).text
            return metric(text, "sketchq_sketches_scored_total", source="model") >= 3

        wait_until(searching, timeout_s=60, what="the /enhance search running")
        srv.signal(signal.SIGTERM)
        worker.join(120)
        status, answer = results["enhance"]
        assert status == 200, answer
        assert answer["steps"] == 50 and len(answer["trajectory"]) == 51
        assert answer["evaluations"] == 2 + 50 * 16
        assert srv.proc.wait(60) == 0, srv.log()
    finally:
        srv.stop()


def test_ctrl_c_stops_quietly_with_status_0() -> None:
    """Issue 14: Ctrl+C (SIGINT) used to end in a KeyboardInterrupt traceback re-raised by uvicorn."""
    srv = Server(shutdown_grace_s=0)
    try:
        srv.signal(signal.SIGINT)
        assert srv.proc.wait(30) == 0
        assert "Traceback" not in srv.log() and "KeyboardInterrupt" not in srv.log()
    finally:
        srv.stop()
