"""The web page (issue 16): draw a sketch and see its quality, attribution and enhancement.

- `GET /` the page (`service/static/index.html`), `GET /static/{path}` its scripts, styles and icon: plain
  files from `service/static/`, no build step, nothing from another origin. These answers carry a strict
  Content-Security-Policy (scripts, styles, images and requests from this origin only, no inline script or
  style, Trusted Types for DOM sinks, no framing) and the usual hardening headers; the API's answers are
  left as they are. Assets are read once at start-up (restart the service after editing them) and sent
  with an ETag, so a browser revalidates them cheaply.
- `GET /v1/examples?category=cat` the "Browse" data: real validation drawings of one class, the bottom,
  middle and top by q, from `service/static/examples.json` (written by `python -m service.web.examples`,
  with q computed by the model named in the file; `current` says whether that is the loaded model).

The page talks to the API like any client (POST /score, /attribute, /enhance, GET /v1/model), so its
requests are counted in the same metrics. Nothing here imports torch or the training package.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.api.contract import problem_responses
from service.api.deps import StateDep
from service.core.errors import FeatureUnavailableError, UnknownLabelError
from service.web.schemas import Examples
from sketchprep.formats import canonical_category

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INDEX = "index.html"
EXAMPLES_FILE = STATIC_DIR / "examples.json"  # served by /v1/examples, not as a static file
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8"}

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
])
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cache-Control": "no-cache",
}

router = APIRouter()


class Asset:
    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type
        self.etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'

    def response(self, request: Request) -> Response:
        headers = {**PAGE_HEADERS, "ETag": self.etag}
        if self.etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def load_assets(root: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every servable file under root by its relative path (a fixed set: no path is ever joined at request time)."""
    assets = {}
    for path in sorted(root.rglob("*")):
        media_type = ASSET_TYPES.get(path.suffix)
        if path.is_file() and media_type:
            assets[path.relative_to(root).as_posix()] = Asset(path.read_bytes(), media_type)
    return assets


ASSETS = load_assets()


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def page(request: Request) -> Response:
    """The page."""
    asset = ASSETS.get(INDEX)
    if asset is None:
        raise StarletteHTTPException(404)
    return asset.response(request)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def static_asset(path: str, request: Request) -> Response:
    """The page's scripts, styles and icon."""
    asset = ASSETS.get(path)
    if asset is None or path == INDEX:
        raise StarletteHTTPException(404)
    return asset.response(request)


@cache
def load_examples(path: Path = EXAMPLES_FILE) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())


@router.get("/v1/examples", response_model=Examples, tags=["web"], summary="Validation drawings ordered by q",
            responses=problem_responses(422, 503))
async def examples(state: StateDep, category: str = Query(
        max_length=200, description="a class of the model, e.g. `cat` or `alarm clock`")) -> Response:
    """Real validation drawings of one class, the bottom, middle and top by q (for the web page's Browse view)."""
    doc = load_examples()
    if doc is None:
        raise FeatureUnavailableError(f"no examples file at {EXAMPLES_FILE}; run python -m service.web.examples",
                                      state.settings.retry_after_s)
    key = canonical_category(category)
    entry = doc["categories"].get(key)
    if entry is None:
        raise UnknownLabelError(category, ["query", "category"], list(doc["categories"]))
    current = state.model is not None and state.model.sha256 == doc["model"]["sha256"]
    body = {"category": key, "validation_count": entry["validation_count"], "groups": entry["groups"],
            "model": doc["model"], "current": current, "licence": doc["licence"]}
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")
