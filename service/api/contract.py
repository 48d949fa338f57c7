"""The published contract: the app's OpenAPI document, with every error documented as problem+json.

`build_openapi` is the app's `openapi()`; `python -m service.docs` writes it to openapi.yaml (and checks
it). That document does not depend on the model or the settings, so no model is loaded to produce it; a
running server adds its limits and classes (service.api.served_contract).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.served_contract import serve_limits
from service.core.problems import Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ERROR_TEXT = {400: "Malformed JSON body, or not UTF-8", 401: "API keys are on and no valid key was sent",
              413: "Body larger than max_body_bytes", 415: "Body not sent as UTF-8 application/json",
              422: "Invalid sketch or request", 429: "The client's cost budget is spent; see Retry-After",
              500: "Model error", 503: "Overloaded (queue full or timed out) or not ready; see Retry-After"}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for a route's error answers (their schema is set by build_openapi)."""
    return {c: {"description": ERROR_TEXT[c], "content": {"application/problem+json": {}}} for c in codes}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with problem+json error answers in place of its default 422 schema."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(Problem.model_json_schema(ref_template="#/components/schemas/{model}")
                   .pop("$defs", {}))
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for ops in doc.get("paths", {}).values():
        for op in ops.values():
            for code, resp in op.get("responses", {}).items():
                if code[0] in "45":
                    resp["content"] = {"application/problem+json": {"schema": dict(PROBLEM_REF)}}
    state = getattr(app.state, "service", None)
    if state is None or state.model is None:  # not serving (python -m service.docs): the committed contract
        return doc
    serve_limits(doc, state)
    app.openapi_schema = doc
    return doc
