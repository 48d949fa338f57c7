"""The floor of sketchq's HTTP stack (issue 17): what a request costs before any of sketchq's own work.

The same server layers as `python -m service` with SKETCHQ_WORKERS=2 (uvicorn with uvloop and httptools, one
process per listening socket, each socket bound with SO_REUSEPORT by service.supervisor.bind_sockets), serving a
bare ASGI app: POST /score reads the whole body and answers a fixed /score-shaped JSON with one result per
`"strokes"` key in the body (no parsing, no model, no middleware, no metrics). The server's CPU per request
under bench/load.py is the least any server on this stack can spend; sketchq's own CPU per request above it
(cache hits: everything but the engine; cache off: with it) is what its request path adds.

    python bench/peers/http_floor_server.py --port 8931 --workers 2 &
    python bench/load.py --port 8931 --bodies BODIES.jsonl --concurrency 32 --duration 4 --warmup 1 \
        --cpu-pid floor=$(pgrep -f http_floor_server.py | head -1)
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from service.supervisor import bind_sockets  # noqa: E402

# One result of sketchq's /score answer, about its usual size (the values are not computed).
RESULT = (b'{"quality":41.52872848510742,"quality_percentile":55.1,"class":"cat","confidence":0.9981,'
          b'"top_k":[{"class":"cat","probability":0.9981}],"theta":0.41,"label_check":null,"cached":false}')
MODEL = b'{"name":"gacl","version":"5","sha256":"' + b"0" * 64 + b'"}'
_answers: dict[int, bytes] = {}


def answer(n: int) -> bytes:
    """The fixed answer for a body of n sketches (built once per n)."""
    if n not in _answers:
        _answers[n] = b'{"model":%s,"results":[%s]}' % (MODEL, b",".join([RESULT] * n))
    return _answers[n]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    a = answer(body.count(b'"strokes"'))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(a))]})
    await send({"type": "http.response.body", "body": a})


def serve(sock: socket.socket) -> None:
    config = uvicorn.Config(app, log_level="warning", access_log=False, loop="uvloop", http="httptools",
                            server_header=False)
    uvicorn.Server(config).run([sock])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8931)
    ap.add_argument("--workers", type=int, default=2, help="processes, one listening socket each")
    args = ap.parse_args()
    sockets = bind_sockets(args.host, args.port, args.workers)
    procs = [multiprocessing.get_context("spawn").Process(target=serve, args=(s,)) for s in sockets]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
