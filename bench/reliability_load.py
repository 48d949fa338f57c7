"""The load parts of the reliability suite (bench/reliability.py runs them): each starts real servers, drives
them from this process over real HTTP, and compares in the same run (idle vs flood, 200 vs 503, before vs
after a Redis kill), so a busy machine shifts both sides alike. Every function returns a JSON-able dict."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from server_proc import RedisProc, ServerProc, metric, metrics_text, wait_until


def pct(values: list[float], q: float) -> float | None:
    return None if not values else round(float(np.percentile(values, q)) * 1000, 2)  # ms


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def closed_loop(send: Callable[[httpx.Client], int], clients: int, seconds: float) -> list[tuple[int, float]]:
    """`clients` threads, each sending one request after another for `seconds`: [(status, latency s)]."""
    out: list[tuple[int, float]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run() -> None:
        with httpx.Client(timeout=60) as c:
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    status = send(c)
                except httpx.HTTPError:
                    status = -1  # a failed request (connection error, timeout)
                with lock:
                    out.append((status, time.perf_counter() - t))

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


def summary(results: list[tuple[int, float]]) -> dict[str, Any]:
    by: dict[str, list[float]] = {}
    for status, latency in results:
        by.setdefault(str(status), []).append(latency)
    return {s: {"n": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for s, v in sorted(by.items())}


# --- 1. header flood ------------------------------------------------------------------------------------------
FLOOD_ADDRESS = "127.0.0.2"


def _flood(port: int, stop: Any, refused: Any) -> None:
    """One flooding client: `GET /healthz` with a header that never ends (up to 64 MiB), again whenever the
    server refuses it, until `stop`. It connects from 127.0.0.2: another client address than the probes'
    (the server blocks an address that keeps sending refused heads, `service.transport.head_guard`)."""
    chunk = b"a" * 65536
    while not stop.is_set():
        with socket.create_connection(("127.0.0.1", port), source_address=(FLOOD_ADDRESS, 0)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: ")
            with contextlib.suppress(OSError):
                for _ in range(1024):
                    if stop.is_set():
                        break
                    s.sendall(chunk)
        with refused.get_lock():
            refused.value += 1


def header_flood(model_dir: Path, floods: int = 4, seconds: float = 10.0) -> dict[str, Any]:
    """Other clients' /score latency with `floods` connections sending endless headers, against idle."""
    srv = ServerProc(model_dir=model_dir, cache="off")
    body = {"sketches": [{"strokes": [[[0, 40, 80, 120], [0, 60, 0, 60]]]}]}
    try:
        def probe(c: httpx.Client) -> int:
            return c.post(f"{srv.url}/score", json=body).status_code

        rss_before = rss_mb(srv.proc.pid)
        idle = closed_loop(probe, 2, seconds)
        stop = multiprocessing.Event()
        refused = multiprocessing.Value("i", 0)
        # In other processes: flood threads here would compete with the probes for this process' GIL.
        flooders = [multiprocessing.Process(target=_flood, args=(srv.port, stop, refused), daemon=True)
                    for _ in range(floods)]
        for f in flooders:
            f.start()
        rss_peak = [rss_before]

        def watch() -> None:
            while not stop.is_set():
                rss_peak[0] = max(rss_peak[0], rss_mb(srv.proc.pid))
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        flooded = closed_loop(probe, 2, seconds)
        stop.set()
        for f in flooders:
            f.join(10)
        idle_ok = [t for s, t in idle if s == 200]
        flood_ok = [t for s, t in flooded if s == 200]
        blocked = metric(metrics_text(srv.url), "sketchq_rejected_requests_total", reason="head_abuse")
        return {"idle": summary(idle), "under_flood": summary(flooded), "flood_connections": floods,
                "flood_connections_refused": refused.value, "flood_connections_blocked_unread": blocked,
                "p99_ratio_flood_vs_idle": round(pct(flood_ok, 99) / pct(idle_ok, 99), 2),  # type: ignore[operator]
                "rss_mb_before": rss_before, "rss_mb_peak_during_flood": rss_peak[0]}
    finally:
        srv.stop()


# --- 2. overload: what a shed request costs ---------------------------------------------------------------
def overload(model_dir: Path, sketches: list[dict[str, Any]], clients: int = 48, seconds: float = 15.0) -> dict:
    """Closed-loop overload with 16-sketch requests on a small queue: latency and server CPU of 200 vs 503."""
    srv = ServerProc(model_dir=model_dir, cache="off", max_queue=64, max_sketches=16)
    try:
        rng = np.random.default_rng(0)

        def send(c: httpx.Client) -> int:
            pick = [sketches[i] for i in rng.integers(0, len(sketches), 16)]
            return c.post(f"{srv.url}/score", json={"sketches": pick}).status_code

        cpu0 = cpu_s(srv.proc.pid)
        results = closed_loop(send, clients, seconds)
        cpu = cpu_s(srv.proc.pid) - cpu0
        ok = [t for s, t in results if s == 200]
        shed = [t for s, t in results if s == 503]
        n_ok, n_shed = len(ok), len(shed)
        return {"clients": clients, "sketches_per_request": 16, "by_status": summary(results),
                "server_cpu_s": round(cpu, 2), "server_cpu_ms_per_answer": round(1000 * cpu / max(1, len(results)), 2),
                "p50_ratio_503_vs_200": None if not ok or not shed else round(pct(shed, 50) / pct(ok, 50), 3),  # type: ignore[operator]
                "answers_200": n_ok, "answers_503": n_shed}
    finally:
        srv.stop()


def shed_cost(model_dir: Path, sketches: list[dict[str, Any]], clients: int = 8, seconds: float = 5.0) -> dict:
    """Server CPU per answer: 16-sketch requests answered 200 (a server with room), against the same
    requests shed with 503 (a server whose queue is held full by one request waiting for a fuller batch)."""
    rng = np.random.default_rng(2)

    def body() -> dict[str, Any]:
        return {"sketches": [sketches[i] for i in rng.integers(0, len(sketches), 16)]}

    def cpu_per_answer(srv: ServerProc) -> tuple[float, dict[str, Any]]:
        cpu0 = cpu_s(srv.proc.pid)
        results = closed_loop(lambda c: c.post(f"{srv.url}/score", json=body()).status_code, clients, seconds)
        return 1000 * (cpu_s(srv.proc.pid) - cpu0) / max(1, len(results)), summary(results)

    srv = ServerProc(model_dir=model_dir, cache="off")
    try:
        ok_ms, ok_summary = cpu_per_answer(srv)
    finally:
        srv.stop()
    srv = ServerProc(model_dir=model_dir, cache="off", max_queue=64, max_sketches=64, max_batch=128,
                     max_wait_ms=10_000, batch_wait="fixed", engine_workers=1)
    try:
        holder = threading.Thread(target=lambda: httpx.post(
            f"{srv.url}/score", json={"sketches": [sketches[i % len(sketches)] for i in range(64)]}, timeout=60))
        holder.start()
        wait_until(lambda: "sketchq_queue_depth 64.0" in httpx.get(f"{srv.url}/metrics").text, 30)
        shed_ms, shed_summary = cpu_per_answer(srv)
        holder.join()
    finally:
        srv.stop()
    return {"server_cpu_ms_per_200": round(ok_ms, 2), "server_cpu_ms_per_503": round(shed_ms, 2),
            "cost_ratio_503_vs_200": round(shed_ms / ok_ms, 3), "answers_200_phase": ok_summary,
            "answers_503_phase": shed_summary, "clients": clients, "sketches_per_request": 16}


# --- 3. rate limits -----------------------------------------------------------------------------------------
def rate_limits(model_dir: Path, rate: float = 20.0, burst: float = 100.0, seconds: float = 10.0) -> dict:
    """One client sending 1-sketch /score requests: how many pass before the first 429 (the burst), the
    Retry-After given, and the cost let through per second afterwards (the refill rate)."""
    srv = ServerProc(model_dir=model_dir, cache="off", rate_limit="true", rate_limit_per_s=rate,
                     rate_limit_burst=burst)
    body = {"sketches": [{"strokes": [[[0, 40, 80, 120], [0, 60, 0, 60]]]}]}
    try:
        with httpx.Client(timeout=30) as c:
            passed, r = 0, c.post(f"{srv.url}/score", json=body)
            while r.status_code == 200:
                passed += 1
                r = c.post(f"{srv.url}/score", json=body)
            first_429 = {"status": r.status_code, "retry_after": r.headers.get("retry-after"),
                         "content_type": r.headers.get("content-type")}
            t0 = time.monotonic()
            wait_until(lambda: c.post(f"{srv.url}/score", json=body).status_code == 200, timeout_s=30,
                       interval_s=0.01, what="the refill")
            first_refill_s = time.monotonic() - t0
        results = closed_loop(lambda cl: cl.post(f"{srv.url}/score", json=body).status_code, 4, seconds)
        allowed = sum(1 for s, _ in results if s == 200)
        return {"rate_per_s": rate, "burst": burst, "passed_before_first_429": passed, "first_429": first_429,
                "seconds_until_served_again": round(first_refill_s, 3),
                "sustained": {"seconds": seconds, "allowed": allowed, "limited": sum(1 for s, _ in results if s == 429),
                              "allowed_per_s": round(allowed / seconds, 2)}}
    finally:
        srv.stop()


# --- 4. Redis killed under load -----------------------------------------------------------------------------
def redis_killed(model_dir: Path, sketches: list[dict[str, Any]], clients: int = 8, seconds: float = 12.0) -> dict:
    """Closed-loop /score load on a server using Redis for the cache and the rate limits; Redis is killed a
    third of the way in and started again two thirds in. Every request must still be answered 200."""
    redis = RedisProc()
    restarted: list[RedisProc] = []
    srv = ServerProc(model_dir=model_dir, redis_url=redis.url, rate_limit="true", rate_limit_per_s=1e6,
                     rate_limit_burst=1e6)
    try:
        rng = np.random.default_rng(1)

        def send(c: httpx.Client) -> int:
            pick = sketches[int(rng.integers(len(sketches)))]
            return c.post(f"{srv.url}/score", json={"sketches": [pick]}).status_code

        events: dict[str, float] = {}

        def chaos() -> None:  # (timed on purpose: this is the load scenario, not a test's synchronisation)
            time.sleep(seconds / 3)
            redis.proc.kill()
            events["killed_at_s"] = round(seconds / 3, 1)
            time.sleep(seconds / 3)
            restarted.append(RedisProc(port=redis.port))  # the same port: the service finds it again
            events["restarted_at_s"] = round(2 * seconds / 3, 1)

        chaos_thread = threading.Thread(target=chaos)
        chaos_thread.start()
        results = closed_loop(send, clients, seconds)
        chaos_thread.join()
        failed = [s for s, _ in results if s != 200]
        return {"clients": clients, "seconds": seconds, "requests": len(results), "failed": len(failed),
                "statuses": summary(results), **events}
    finally:
        srv.stop()
        for r in [redis, *restarted]:
            r.stop()
