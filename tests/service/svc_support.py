"""Helpers for the service tests: a real server in a subprocess, a real redis-server, real sketches."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import httpx
from server_proc import DATA, RedisProc, ServerProc, metric, metrics_text, wait_until  # noqa: F401  (re-exported for the service tests)

from sketchprep.formats import read_ndjson
from sketchprep.strokes import strokes_to_drawing

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = REPO / "models" / "gacl"
DEV_MODEL = Path("/tmp/dev-model")

# Limits of the shared test server, small so the bad-input bodies stay small.
SERVER_LIMITS = {"max_input_points": 1000, "max_request_points": 20_000, "max_strokes": 64,
                 "max_body_bytes": 256 * 1024, "max_sketches": 256, "attribute_max_strokes": 40}


def model_dir() -> Path | None:
    """The shipped model when it is there, else the development model (tests never assume which)."""
    env = os.environ.get("SKETCHQ_TEST_MODEL_DIR")
    candidates = [Path(env)] if env else [SHIPPED_MODEL, DEV_MODEL]
    for d in candidates:
        if (d / "model_card.json").exists():
            return d
    return None


def data_dir() -> Path:
    return DATA


def load_sketches(categories: list[str], per_category: int) -> list[dict[str, Any]]:
    """Real Quick, Draw! sketches as API sketch objects ({"strokes": drawing, "label": category})."""
    out = []
    for cat in categories:
        path = data_dir() / f"{cat}.ndjson.gz"
        for rec in itertools.islice(read_ndjson(path), per_category):
            out.append({"strokes": strokes_to_drawing(rec.strokes), "label": rec.category})
    return out




def is_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status; return its body."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body
