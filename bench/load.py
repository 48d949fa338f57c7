"""Closed-loop HTTP load generator (run as its own process by bench/run.py).

N connections, each sends a request, waits for the whole answer, sends the next (keep-alive HTTP/1.1 over
raw asyncio streams, requests pre-encoded, so the client costs little CPU next to the server). The
measured window starts after the warm-up and lasts `duration` seconds: throughput counts the answers that
arrive inside it and the latency percentiles are those answers' latencies (requests still in flight when
the window closes are abandoned). Prints one JSON object.

    python bench/load.py --port 8000 --bodies bodies.jsonl --concurrency 32 --duration 5 --warmup 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np


def build_requests(bodies: list[bytes], path: str) -> list[bytes]:
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: "
    return [head.encode() + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]


async def connection(host: str, port: int, requests: list[bytes], offset: int, warm_end: float, end: float,
                     latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while True:
            start = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            done = time.perf_counter()
            if done > end:
                return
            if done >= warm_end:
                latencies.append(done - start)
                statuses[status] = statuses.get(status, 0) + 1
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def run(host: str, port: int, requests: list[bytes], concurrency: int, duration: float,
              warmup: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    t0 = time.perf_counter()
    warm_end, end = t0 + warmup, t0 + warmup + duration
    step = max(1, len(requests) // concurrency)
    tasks = [asyncio.ensure_future(connection(host, port, requests, k * step, warm_end, end, latencies, statuses))
             for k in range(concurrency)]
    await asyncio.wait(tasks, timeout=max(0.0, end - time.perf_counter()) + 0.01)
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
    args = ap.parse_args()
    bodies = [line.encode() for line in args.bodies.read_text().splitlines() if line.strip()]
    try:
        import uvloop  # noqa: PLC0415  (optional: a cheaper event loop for the client)

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args.host, args.port, build_requests(bodies, args.path), args.concurrency,
                             args.duration, args.warmup))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
