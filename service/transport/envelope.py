"""What every answer gets, whatever answered it (the gate, the fast path, FastAPI): a request id, hardening
headers, and one structured access-log line.

- `X-Request-ID`: the client's, when it sent a sane one (1-128 of `A-Za-z0-9._:-`), else a new one; echoed
  on the answer, put in the request's context (service.core.context.request_id) so that every log line and
  every problem+json answer (`request_id`) of the request carries it.
- `X-Content-Type-Options: nosniff` and `Cache-Control: no-store` (unless the answer set its own, as the
  web page's files do).
- One log line per request (logger `service.access`): method, route template, status, latency, client,
  request id; never the body or the query.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core import tracing
from service.core.context import client_id, request_id

log = logging.getLogger("service.access")

_SANE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
HARDENING = [(b"x-content-type-options", b"nosniff")]


# New ids: 32 hex digits, a random per-process prefix and a counter (unique like uuid4, without its
# os.urandom call per request, which was 5 % of the event loop's samples under load).
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count()


def new_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id" and _SANE_ID.fullmatch(value):
            return value.decode("ascii")
    return new_id()


class Envelope:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope["headers"])
        request_id.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", rid.encode()))
                headers += [h for h in HARDENING if h[0] not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            with tracing.span(f"{scope.get('method')} request", request_id=rid) as s:
                await self.app(scope, receive, send_with_headers)
                if s is not None:
                    route_ = getattr(scope.get("route"), "path", None)
                    s.set_attribute("http.route", route_ or scope["path"])  # (the /score fast path sets no route)
                    s.set_attribute("http.response.status_code", status)
        finally:
            route: Any = scope.get("route")
            log.info("request", extra={
                "method": scope.get("method"), "endpoint": getattr(route, "path", None) or scope.get("path"),
                "status": status, "latency_ms": round((time.perf_counter() - start) * 1000, 2),
                "client": client_id.get()})
