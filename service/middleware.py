"""Two small pure-ASGI middlewares (no BaseHTTPMiddleware: it breaks disconnect detection and streaming).

- `BodyLimitMiddleware` reads the request body itself, counting bytes as they arrive, and answers 413
  problem+json as soon as the count passes the limit, so a chunked upload (no Content-Length) cannot
  bypass it; a declared Content-Length over the limit is refused before reading. The body is then replayed
  to the app in one message; later `receive()` calls go to the server (that is how disconnects are seen).
- `RequestMetricsMiddleware` times every request and records it by route template and status class.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_MEDIA_TYPE, PayloadTooLargeError
from service.metrics import Metrics


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_body_bytes:
                    await self._too_large(send, f"declared Content-Length {declared}")
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left while sending; nobody to answer
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body_bytes:
                await self._too_large(send, f"more than {self.max_body_bytes} bytes received")
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False
        full_body = b"".join(chunks)

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": full_body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, what: str) -> None:
        err = PayloadTooLargeError(f"the request body is limited to {self.max_body_bytes} bytes ({what})")
        body = json.dumps(err.to_problem()).encode()
        await send({"type": "http.response.start", "status": err.status, "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.observe_request(endpoint, method if method in _METHODS else "other", status,
                                         time.perf_counter() - start)
