"""The published contract: the app's OpenAPI document, with every error documented as problem+json.

    python -m service.openapi            # write openapi.yaml at the repository root
    python -m service.openapi --check    # exit 1 when openapi.yaml differs from what the app serves

The document does not depend on the model or the settings, so no model is loaded to produce it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


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
    app.openapi_schema = doc
    return doc


def render_yaml(doc: dict[str, Any]) -> str:
    import yaml  # dev dependency, only needed to write or check the file

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def main(argv: list[str] | None = None) -> int:
    from service.main import create_app
    from service.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    text = render_yaml(create_app(Settings()).openapi())
    if args.check:
        current = args.path.read_text() if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run python -m service.openapi", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date")
        return 0
    args.path.write_text(text)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
