"""Errors as HTTP answers: every error the app answers is an RFC 9457 `application/problem+json` document.

One place for the answer and its logging (`error_response`: 5xx other than 503 logged, an unexpected
exception logged with its traceback), used by the exception handlers and by POST /score's fast path. The
handlers cover the service's own errors, request validation (422, or 400 when the body is not JSON),
Starlette's HTTP errors (404, 405 with its Allow header, FastAPI's 400 for an unparsable body) and anything
unexpected (500). Validation details are reduced to JSON-safe `loc`/`msg`/`type` (the offending input,
which may be NaN, huge or binary, is never echoed back). `Problem` is the answer's schema in the OpenAPI
document.
"""

from __future__ import annotations

import json
import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.core.context import request_id
from service.core.errors import PROBLEM_MEDIA_TYPE, ServiceError, problem
from sketchprep.strokes import WIRE_FORMATS

log = logging.getLogger("service.errors")

BODY_PARSE_DETAIL = "There was an error parsing the body"
SKETCH_PARTS = frozenset({"strokes", "points", "stroke3", "sketch", "sketches"})


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="where: body, sketches, index, field, ...")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details; extension members depend on the problem type."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI of the problem type (urn:sketchq:problem:... or about:blank)")
    title: str
    status: int
    detail: str = Field(description="what went wrong, for people")
    errors: list[ValidationIssue] | None = Field(None, description="each invalid field (validation problems)")
    known_classes: list[str] | None = Field(None, description="the model's classes (unknown-label problems)")
    request_id: str | None = Field(None, description="the request's X-Request-ID (sent or made), as in the logs")
    accepted_formats: list[str] | None = Field(
        None, description="the sketch formats accepted, each with an example (problems with a sketch's shape)")


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        rid = request_id.get()
        if rid is not None and isinstance(content, dict):
            content = {**content, "request_id": rid}
        return json.dumps(content, allow_nan=False, default=str, separators=(",", ":")).encode()


def error_response(exc: Exception, method: str, path: str) -> ProblemResponse:
    """The answer to an exception raised while serving `method path`, logged once here."""
    if isinstance(exc, ServiceError):
        if exc.status >= 500 and exc.status != 503:
            log.error("%s: %s", type(exc).__name__, exc.detail)
        return ProblemResponse(exc.to_problem(), status_code=exc.status, headers=exc.headers())
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    body = problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")
    return ProblemResponse(body, status_code=500)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_safe(value: Any, depth: int = 0) -> Any:
    """A JSON-encodable copy of a small value: non-finite floats and odd types become strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth < 3 and isinstance(value, list | tuple):
        return [_json_safe(v, depth + 1) for v in value[:20]]
    if depth < 3 and isinstance(value, dict):
        return {str(k): _json_safe(v, depth + 1) for k, v in list(value.items())[:20]}
    return str(value)[:200]


def clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic/FastAPI error dicts -> [{loc, msg, type(, ctx)}], JSON-safe, without the input value."""
    out = []
    for e in list(errors)[:50]:
        item: dict[str, Any] = {
            "loc": [p if isinstance(p, int | str) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")).removeprefix("Value error, "),
            "type": str(e.get("type", "")),
        }
        if e.get("ctx") and item["type"] != "json_invalid":  # (json's own message is not passed on)
            item["ctx"] = _json_safe(e["ctx"])
        out.append(item)
    return out


def _summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


async def service_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return error_response(exc, request.method, request.url.path)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = clean_validation_errors(exc.errors())
    bad_json = [e for e in errors if e["type"] == "json_invalid"]
    if bad_json:
        where = bad_json[0]["loc"][-1]
        body = problem(400, "Malformed JSON", f"the body is not valid JSON (near character {where})",
                       "urn:sketchq:problem:malformed-json", errors=errors)
        return ProblemResponse(body, status_code=400)
    detail = _summary(errors) if errors else "the request is invalid"
    extra = {}
    if any(SKETCH_PARTS.intersection(str(p) for p in e["loc"]) for e in errors):  # a sketch's shape is wrong
        detail += "; accepted sketch formats: " + "; or ".join(WIRE_FORMATS)
        extra["accepted_formats"] = list(WIRE_FORMATS)
    body = problem(422, "Invalid request", detail, "urn:sketchq:problem:validation-error", errors=errors, **extra)
    return ProblemResponse(body, status_code=422)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(_json_safe(exc.detail))
    type_, title = "about:blank", _phrase(exc.status_code)
    if exc.status_code == 400 and detail == BODY_PARSE_DETAIL:
        # FastAPI's answer to a body json.loads could not handle (e.g. RecursionError on deep nesting).
        detail = "the body could not be parsed as JSON (malformed, or nested too deeply)"
        type_, title = "urn:sketchq:problem:malformed-json", "Malformed JSON"
    elif exc.status_code == 404:
        detail = f"no resource at {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    body = problem(exc.status_code, title, detail, type_)
    return ProblemResponse(body, status_code=exc.status_code, headers=exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    return error_response(exc, request.method, request.url.path)


def register_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, service_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
