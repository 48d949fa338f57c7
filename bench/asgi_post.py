"""One POST /score driven straight through an ASGI app, in process (no server, no socket, no client): for the
benchmarks that measure the service's own request path (bench/request_cpu.py, bench/loop_cpu.py)."""

from __future__ import annotations

import asyncio
from typing import Any


async def post_score(app: Any, body: bytes) -> None:
    """Send `body` to the app's POST /score and require a 200 answer."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # no disconnect: the request finishes first
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/score", "raw_path": b"/score", "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
             "http_version": "1.1", "scheme": "http", "server": ("bench", 80), "client": ("bench", 1),
             "root_path": ""}
    await app(scope, receive, send)
    assert sent[0]["status"] == 200, sent
