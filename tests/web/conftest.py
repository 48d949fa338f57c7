"""Fixtures for the web page tests: a real server, a real headless Chromium (Debian's package, driven by
Playwright for Python), real drawings from the data.

Without Playwright or Chromium the browser tests skip with the reason (in CI, where `make test` installs
both, they fail instead, like the data fixture).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from web_support import MODEL_DIR, ServerProc, chromium_path, drawing_with_blame, launch, open_page


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must have it: make test installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def web_server(data_dir: Any) -> Iterator[ServerProc]:
    """A server for the page tests (in-process cache, the default limits, the shipped models)."""
    if not (MODEL_DIR / "model_card.json").exists():
        pytest.fail(f"no model at {MODEL_DIR}")
    srv = ServerProc(model_dir=MODEL_DIR)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    executable = chromium_path()
    if executable is None:
        _missing("Chromium is not installed (apt-get install -y chromium, or set SKETCHQ_CHROMIUM)")
    with sync_playwright() as p:
        b = launch(p, executable)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, web_server: ServerProc) -> Iterator[Any]:
    """The page at desktop width; fails the test on any CSP or Trusted Types violation or uncaught error."""
    pg = open_page(browser, web_server.url)
    yield pg
    problems = list(pg.sketchq_problems)
    pg.context.close()
    assert not problems, problems


@pytest.fixture(scope="session")
def blamed_drawing(web_server: ServerProc) -> dict[str, Any]:
    """A small real owl drawing of which /attribute blames at least one stroke. The category only has to offer
    some with any scorer: with v4 cats did too, with a GACL-Mul candidate (issue 12) no cat among the first
    1,000 qualified while 8 of the first 200 owls did."""
    return drawing_with_blame(web_server.url, "owl")
