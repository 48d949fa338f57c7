"""Fixtures for the service tests: the model folder, real sketches, and a running server (cache off)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from svc_support import SERVER_LIMITS, ServerProc, data_dir, load_sketches, model_dir


@pytest.fixture(scope="session")
def model_path() -> Path:
    d = model_dir()
    if d is None:
        pytest.fail("no model: expected models/gacl or /tmp/dev-model (or SKETCHQ_TEST_MODEL_DIR)")
    return d


@pytest.fixture(scope="session")
def card(model_path: Path) -> dict[str, Any]:
    return json.loads((model_path / "model_card.json").read_text())


@pytest.fixture(scope="session")
def sketches(card: dict[str, Any]) -> list[dict[str, Any]]:
    """About 120 real sketches of the model's classes (as API sketch objects with their true label)."""
    cats = [c for c in card["classes"] if (data_dir() / f"{c}.ndjson.gz").exists()][:6]
    if not cats:
        pytest.fail(f"no Quick, Draw! files for the model's classes under {data_dir()} (set SKETCHQ_TEST_DATA)")
    return load_sketches(cats, 20)


@pytest.fixture(scope="session")
def server(model_path: Path) -> Iterator[ServerProc]:
    """One real server for most HTTP tests: cache off (every answer is computed), small limits."""
    srv = ServerProc(model_dir=model_path, cache="off", max_wait_ms=5, **SERVER_LIMITS)
    yield srv
    srv.stop()
