"""POST /score's hot path, in front of FastAPI's middleware stack, router, dependencies and serialisation.

A JSON request (Content-Type application/json) within the body limit is validated straight from the raw
bytes with `ScoreRequest.model_validate_json` and answered with the bytes `Scorer.score_json` builds: the
same answer as the FastAPI route, for a fraction of the per-request CPU. Anything else (another route or
content type, a body over the limit or that fails validation, a client gone while sending, the service
not serving) goes on to the FastAPI app with what was read replayed, so every such answer (413, 400, 422,
404, 503...) and its metrics come from the app's own middlewares and handlers. The service's errors raised
while scoring (limits, unknown label, 503s, a disconnected client) become the same problem+json answers as
in the app, and the request is counted in the same `sketchq_http_request_duration_seconds` series.
"""

from __future__ import annotations

import contextlib
import logging
import time

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.disconnect import watch_disconnect
from service.errors import ServiceError, problem
from service.handlers import ProblemResponse
from service.schemas import ScoreRequest
from service.state import ServiceState

log = logging.getLogger("service.fastpath")

PATH = "/score"


def _eligible(headers: list[tuple[bytes, bytes]], max_body_bytes: int) -> bool:
    """A JSON content type and no declared length over the limit."""
    json_type = False
    for name, value in headers:
        if name == b"content-type":
            json_type = value.split(b";", 1)[0].strip().lower() == b"application/json"
        elif name == b"content-length":
            try:
                if int(value) > max_body_bytes:
                    return False
            except ValueError:
                return False
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
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] == "http.disconnect":
                break
            size += len(message.get("body", b""))
            if size > self.max_body_bytes or not message.get("more_body", False):
                break
        req = None
        last = messages[-1]
        if last["type"] == "http.request" and not last.get("more_body", False) and size <= self.max_body_bytes:
            body = last.get("body", b"") if len(messages) == 1 else b"".join(m.get("body", b"") for m in messages)
            with contextlib.suppress(ValidationError):  # the app answers invalid bodies
                req = ScoreRequest.model_validate_json(body)
        if req is None:  # the app gives the answer (400, 413, 422) exactly as without this path
            await self.app(scope, _replay(messages, receive), send)
            return
        status = await self._answer(scope, receive, send, req)
        self.state.metrics.observe_request(PATH, "POST", status, time.perf_counter() - start)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, req: ScoreRequest) -> int:
        scorer = self.state.scorer
        assert scorer is not None
        try:
            answer = await watch_disconnect(receive, scorer.score_json(req))
        except ServiceError as e:
            if e.status >= 500 and e.status != 503:
                log.error("%s: %s", type(e).__name__, e.detail)
            await ProblemResponse(e.to_problem(), status_code=e.status, headers=e.headers())(scope, receive, send)
            return e.status
        except Exception:
            log.exception("unhandled error on POST %s", PATH)
            body = problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")
            await ProblemResponse(body, status_code=500)(scope, receive, send)
            return 500
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]})
        await send({"type": "http.response.body", "body": answer})
        return 200


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive() that gives the messages already read, then the server's."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
