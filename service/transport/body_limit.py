"""The request body limit (a pure-ASGI middleware): 413 problem+json for a declared Content-Length over the
limit before reading, and as soon as the bytes received pass it, so a chunked upload cannot bypass it. A
POST body must be UTF-8 without a byte-order mark (400 otherwise: Python's json would quietly accept
UTF-16 and BOMs, which the contract does not). The body is then handed to the app in one message; later
`receive()` calls go to the server."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from service.core.errors import PayloadTooLargeError, problem
from service.core.problems import ProblemResponse
from service.transport.body import declared_length, read_body, replay

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _is_plain_utf8(body: bytes) -> bool:
    if body.startswith(_BOMS):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope["headers"])
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send, f"declared Content-Length {declared}")
            return
        read = await read_body(receive, self.max_body_bytes)
        if read.outcome == "disconnected":
            return  # the client left while sending; nobody to answer
        if read.outcome == "too_large":
            await self._too_large(scope, receive, send, f"more than {self.max_body_bytes} bytes received")
            return
        body = read.body
        if scope["method"] == "POST" and not _is_plain_utf8(body):
            err = problem(400, "Malformed JSON", "the body must be UTF-8 JSON without a byte-order mark",
                          "urn:sketchq:problem:malformed-json")
            await ProblemResponse(err, status_code=400)(scope, receive, send)
            return
        whole = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, replay([whole], receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        err = PayloadTooLargeError(f"the request body is limited to {self.max_body_bytes} bytes ({what})")
        headers = {**err.headers(), "connection": "close"}
        await ProblemResponse(err.to_problem(), status_code=err.status, headers=headers)(scope, receive, send)
