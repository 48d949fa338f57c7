"""Timing every request by route template, method and status class (a pure-ASGI middleware: no
BaseHTTPMiddleware, which breaks disconnect detection and streaming). POST /score's fast path records the
same series itself."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.metrics import Metrics

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.metrics = metrics
        self.paths = paths  # the app's fixed route paths: routes that set no scope["route"] (/docs, /openapi.json)

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
            endpoint = getattr(route, "path", None) or (scope["path"] if scope["path"] in self.paths else "unmatched")
            method = scope.get("method", "GET")
            self.metrics.observe_request(endpoint, method if method in _METHODS else "other", status,
                                         time.perf_counter() - start)
