"""Closed-loop HTTP load generator (run as its own process by bench/run.py).

N connections, each sends a request, waits for the whole answer, sends the next (keep-alive HTTP/1.1 over
bare asyncio protocols, requests pre-encoded, so the client costs little CPU next to the server). The
measured window starts after the warm-up and lasts `duration` seconds: throughput counts the answers that
arrive inside it and the latency percentiles are those answers' latencies (requests still in flight when
the window closes are abandoned). Prints one JSON object.

With `--cpu-pid NAME=PID` (repeatable) it also reads, at the start and the end of the window, the CPU
seconds of that process and its descendants from /proc (bench/proc_cpu.py) and reports them per NAME in
`cpu_s_in_window`: the server's own CPU over the same window as the answers counted (bench/side_by_side.py
passes every running stack, so the idle ones' CPU is seen too).

    python bench/load.py --port 8000 --bodies bodies.jsonl --concurrency 32 --duration 5 --warmup 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np
from proc_cpu import tree_cpu_split


def build_requests(bodies: list[bytes], path: str) -> list[bytes]:
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: "
    return [head.encode() + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]


def content_length(head: bytes) -> int:
    """Content-Length of a lower-cased response head (0 when absent)."""
    k = head.find(b"content-length:")
    if k < 0:
        return 0
    eol = head.find(b"\r\n", k)
    return int(head[k + 15:eol if eol >= 0 else len(head)])


class Client(asyncio.Protocol):
    """One keep-alive connection as a bare protocol (no streams, cheaper): a request is written, the
    answer is collected in data_received until its Content-Length is complete, then the next is written."""

    def __init__(self, requests: list[bytes], offset: int, warm_end: float, end: float, latencies: list[float],
                 statuses: dict[int, int], done: asyncio.Future[int | None]) -> None:
        self.requests, self.i = requests, offset
        self.warm_end, self.end = warm_end, end
        self.latencies, self.statuses, self.done = latencies, statuses, done
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.start = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.start = time.perf_counter()
        self.transport.write(self.requests[self.i % len(self.requests)])
        self.i += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buf[:head_end].lower()
        total = head_end + 4 + content_length(head)
        if len(self.buf) < total:
            return
        self.buf = self.buf[total:]
        done = time.perf_counter()
        if done > self.end:
            self.finish(None)  # the window closed
            return
        if done >= self.warm_end:
            self.latencies.append(done - self.start)
            status = int(head[9:12])
            self.statuses[status] = self.statuses.get(status, 0) + 1
        if b"connection: close" in head:
            self.finish(self.i)  # reconnect and go on
            return
        self.send()

    def finish(self, result: int | None) -> None:
        assert self.transport is not None
        self.transport.close()
        if not self.done.done():
            self.done.set_result(result)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("the server closed the connection"))


async def connection(host: str, port: int, requests: list[bytes], offset: int, warm_end: float, end: float,
                     latencies: list[float], statuses: dict[int, int]) -> None:
    loop = asyncio.get_running_loop()
    i: int | None = offset
    while i is not None:
        done: asyncio.Future[int | None] = loop.create_future()
        start = i
        transport, _ = await loop.create_connection(
            lambda: Client(requests, start, warm_end, end, latencies, statuses, done), host, port)  # noqa: B023
        try:
            i = await done
        finally:
            transport.close()


async def run(host: str, port: int, requests: list[bytes], concurrency: int, duration: float,
              warmup: float, cpu_pids: dict[str, int] | None = None) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    t0 = time.perf_counter()
    warm_end, end = t0 + warmup, t0 + warmup + duration
    step = max(1, len(requests) // concurrency)
    tasks = [asyncio.ensure_future(connection(host, port, requests, k * step, warm_end, end, latencies, statuses))
             for k in range(concurrency)]
    await asyncio.sleep(max(0.0, warm_end - time.perf_counter()))
    cpu_pids = cpu_pids or {}
    cpu0 = {name: tree_cpu_split(pid) for name, pid in cpu_pids.items()}  # (whole tree, main threads)
    cpu_start = time.process_time()  # this process's CPU in the window: what the load costs the machine
    await asyncio.wait(tasks, timeout=max(0.0, end - time.perf_counter()) + 0.01)
    cpu = time.process_time() - cpu_start
    cpu1 = {name: tree_cpu_split(pid) for name, pid in cpu_pids.items()}
    servers = {name: round(cpu1[name][0] - cpu0[name][0], 3) for name in cpu_pids}
    mains = {name: round(cpu1[name][1] - cpu0[name][1], 3) for name in cpu_pids}
    for t in tasks:
        t.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [repr(o) for o in outcomes if isinstance(o, Exception)]
    lat = np.asarray(latencies) * 1000.0
    ok = statuses.get(200, 0)
    pct = (lambda p: round(float(np.percentile(lat, p)), 2)) if len(lat) else (lambda p: None)
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "connection_errors": errors[:5],
        "window_s": duration,
        "requests_per_s": round(ok / duration, 1),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(float(lat.mean()), 2) if len(lat) else None,
        "client_cpu_ms_per_request": round(1000.0 * cpu / len(latencies), 3) if len(latencies) else None,
        **({"cpu_s_in_window": servers, "main_thread_cpu_s_in_window": mains} if cpu_pids else {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/score")
    ap.add_argument("--bodies", type=Path, required=True, help="one JSON request body per line")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--cpu-pid", action="append", default=[], metavar="NAME=PID",
                    help="report the CPU seconds of this process tree in the window (repeatable)")
    args = ap.parse_args()
    cpu_pids = {name: int(pid) for name, _, pid in (item.partition("=") for item in args.cpu_pid)}
    bodies = [line.encode() for line in args.bodies.read_text().splitlines() if line.strip()]
    try:
        import uvloop  # noqa: PLC0415  (optional: a cheaper event loop for the client)

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args.host, args.port, build_requests(bodies, args.path), args.concurrency,
                             args.duration, args.warmup, cpu_pids))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
