"""The checks made on a work request (POST /score, /attribute, /enhance) before its body is read.

Reading, parsing and preprocessing a body costs most of what answering it does, so anything that will be
refused anyway is refused first, from the request head alone:

- API keys are on and no valid key was sent: 401 (the client is then named by its key's id, else by its
  address, for rate limits, the cache scope and logs: service.core.context.client_id);
- the drain has begun: 503 shutting-down;
- the batch queue holds at least shed_queue_fraction of max_queue: 503 queue-full (load shed before the
  work, so shedding relieves the CPU);
- the body is not declared as JSON: 415, saying which header to send (a missing Content-Type used to get
  "Input should be a valid dictionary"); a charset other than UTF-8 and `+json` types are refused too;
- rate limits are on and the client's budget is empty: 429 + Retry-After (the request's own cost is paid
  once its body has been read: ServiceState.charge).

`Gate` wraps the rest of the app (POST /score's fast path, then FastAPI); what it refuses is counted in the
request metric like any answer.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from service.core.context import client_id
from service.core.errors import (
    QueueFullError,
    RateLimitedError,
    ServiceError,
    ShuttingDownError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from service.core.problems import ProblemResponse
from service.security.keys import presented_key
from service.state import ServiceState

WORK_PATHS = frozenset({"/score", "/attribute", "/enhance"})
JSON_HINT = "send the body as JSON with the header `Content-Type: application/json` (curl: -H 'Content-Type: " \
            "application/json')"


def content_type_problem(headers: list[tuple[bytes, bytes]]) -> UnsupportedMediaTypeError | None:
    """None when the declared type is application/json (charset absent or UTF-8), else the 415 to answer."""
    values = [v for k, v in headers if k == b"content-type"]
    if not values:
        return UnsupportedMediaTypeError(f"no Content-Type header: {JSON_HINT}")
    media, *params = (p.strip().lower() for p in values[0].decode("latin-1").split(";"))
    if len(values) > 1 or media != "application/json":
        return UnsupportedMediaTypeError(f"Content-Type {values[0].decode('latin-1')[:100]!r} is not accepted: "
                                         f"{JSON_HINT}")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return UnsupportedMediaTypeError(f"charset {value.strip()[:40]!r} is not accepted: JSON bodies are UTF-8")
    return None


class Gate:
    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state

    def authenticate(self, scope: Scope) -> UnauthorizedError | None:
        """Name the client (API key id, or address) in the request's context; 401 for a missing or unknown key."""
        state = self.state
        if not state.keys.enabled:
            client = scope.get("client")
            client_id.set(f"ip:{client[0]}" if client else "ip:unknown")
            return None
        key = presented_key(scope["headers"])
        who = None if key is None else state.keys.client_of(key)
        if who is None:
            state.metrics.auth.labels("missing" if key is None else "invalid").inc()
            why = "no API key was sent" if key is None else "the API key is not valid"
            return UnauthorizedError(f"{why}: send `Authorization: Bearer KEY` (or `X-API-Key: KEY`)")
        state.metrics.auth.labels("ok").inc()
        client_id.set(who)
        return None

    def refusal(self, scope: Scope) -> ServiceError | None:
        state, s = self.state, self.state.settings
        if state.refusing:
            state.metrics.rejected.labels("shutting_down").inc()
            return ShuttingDownError("the service is shutting down", s.retry_after_s)
        batcher = state.batcher
        if batcher is not None and batcher.depth >= s.shed_queue_fraction * s.max_queue:
            state.metrics.rejected.labels("shed").inc()
            return QueueFullError(f"overloaded ({batcher.depth} of {s.max_queue} sketches waiting); retry later",
                                  s.retry_after_s)
        return content_type_problem(scope["headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in WORK_PATHS:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        refused = self.authenticate(scope) or self.refusal(scope)
        limiter = self.state.limiter
        if refused is None and limiter is not None:
            wait = await limiter.take(client_id.get() or "anonymous", 0, precheck=True)
            if wait is not None:
                refused = RateLimitedError(f"this client's budget of work is spent; retry in {wait:.0f} s", wait)
        if refused is None:
            await self.app(scope, receive, send)
            return
        response = ProblemResponse(refused.to_problem(), status_code=refused.status, headers=refused.headers())
        await response(scope, receive, send)
        self.state.metrics.observe_request(scope["path"], "POST", refused.status, time.perf_counter() - start)
