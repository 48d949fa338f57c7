"""POST /score's hot path, in front of FastAPI's middleware stack, router, dependencies and serialisation.

A JSON request (Content-Type application/json) within the body limit is validated straight from the raw
bytes, by msgspec where it has the usual shape (`service.api.schemas.score_fast`), else with
`ScoreRequest.model_validate_json`, and answered with the bytes `Scorer.score_json` builds: the
same answer as the FastAPI route, for a fraction of the per-request CPU. Anything else (another route or
content type, a body over the limit or that fails validation, a client gone while sending, the service
not serving) goes on to the FastAPI app with what was read replayed, so every such answer (413, 400, 422,
404, 503...) and its metrics come from the app's own middlewares and handlers.

The fence: the path shares the body reader (service.transport.body), the error answers and their logging
(service.core.problems.error_response) and the request metric with the app, and does itself what the app's
middlewares do (`REPLICATES`). main.create_app refuses to build an app whose middleware list differs, so a
new middleware forces a decision: replicate it here, or send /score through FastAPI.
"""

from __future__ import annotations

import contextlib
import time

from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.schemas.score import ScoreRequest
from service.api.schemas.score_fast import ScoreBody, decode_score
from service.core.problems import error_response
from service.state import ServiceState
from service.transport.body import declared_length, read_body, replay
from service.transport.body_limit import BodyLimitMiddleware
from service.transport.disconnect import watch_disconnect
from service.transport.request_metrics import RequestMetricsMiddleware

PATH = "/score"
# The app's middlewares, outermost first, whose work this path does itself: the request metric and the limit.
REPLICATES = (RequestMetricsMiddleware, BodyLimitMiddleware)


def _eligible(headers: list[tuple[bytes, bytes]], max_body_bytes: int) -> bool:
    """Content-Type exactly application/json (with parameters it goes through the app) and no declared
    length over the limit (or unreadable)."""
    declared = declared_length(headers)
    if declared is not None and not 0 <= declared <= max_body_bytes:
        return False
    json_type = False
    for name, value in headers:
        if name == b"content-type":
            json_type = value.strip().lower() == b"application/json"
    return json_type


class ScoreFastPath:
    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state
        self.max_body_bytes = state.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scorer = self.state.scorer
        if (scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST" or scorer is None
                or not _eligible(scope["headers"], self.max_body_bytes)):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        read = await read_body(receive, self.max_body_bytes)
        req: ScoreBody | None = None
        if read.outcome == "complete":
            req = decode_score(read.body)
            if req is None:  # not the usual shape, or invalid
                with contextlib.suppress(ValidationError):  # the app answers invalid bodies
                    req = ScoreRequest.model_validate_json(read.body)
        if req is None:  # the app gives the answer (400, 413, 422) exactly as without this path
            await self.app(scope, replay(read.messages, receive), send)
            return
        status = await self._answer(scope, receive, send, req)
        self.state.metrics.observe_request(PATH, "POST", status, time.perf_counter() - start)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, req: ScoreBody) -> int:
        scorer = self.state.scorer
        assert scorer is not None
        try:
            await self.state.charge(len(req.sketches))
            with self.state.admitted():
                answer = await watch_disconnect(receive, scorer.score_json(req))
        except Exception as e:
            response = error_response(e, "POST", PATH)
            await response(scope, receive, send)
            return response.status_code
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]})
        await send({"type": "http.response.body", "body": answer})
        return 200
