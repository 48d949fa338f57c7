"""Helpers for the web page tests and the screenshot script: Chromium, drawing with real input events,
waiting for the page, and picking real drawings from the data.

The browser is Debian's `chromium` (or SKETCHQ_CHROMIUM) driven by Playwright for Python; Playwright's
own browser downloads are never used.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
from server_proc import DATA, REPO, ServerProc  # noqa: F401  (DATA, ServerProc: re-exported for the tests)

from sketchprep.formats import read_ndjson

MODEL_DIR = Path(os.environ.get("SKETCHQ_TEST_MODEL_DIR", REPO / "models" / "gacl"))
FRAME = 256  # the page records points in a 256 x 256 frame (pad.js)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    """Debian's chromium (or SKETCHQ_CHROMIUM), None when not installed."""
    env = os.environ.get("SKETCHQ_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright: Any, executable: str) -> Any:
    return playwright.chromium.launch(executable_path=executable, args=["--disable-gpu", "--no-first-run"])


def drawing_of(strokes: list[Any]) -> list[list[list[int]]]:
    """A record's strokes (numpy arrays) as a Quick, Draw! drawing of ints."""
    return [[[int(round(x)) for x in s[:, 0]], [int(round(y)) for y in s[:, 1]]] for s in strokes]


def candidate_drawings(category: str, n: int = 200, max_strokes: int = 10, max_points: int = 120,
                       min_strokes: int = 2, data: Path = DATA) -> list[dict[str, Any]]:
    """Real drawings of a category (among its file's first n), small enough to draw quickly with input events."""
    out = []
    for rec in itertools.islice(read_ndjson(data / f"{category}.ndjson.gz"), n):
        d = drawing_of(rec.strokes)
        if min_strokes <= len(d) <= max_strokes and sum(len(s[0]) for s in d) <= max_points:
            out.append({"category": rec.category, "key_id": rec.key_id, "strokes": d})
    return out


def drawing_with_blame(url: str, category: str = "cat", recognised: bool = False, **limits: int) -> dict[str, Any]:
    """The first small real drawing of the category for which /attribute blames at least one stroke (and,
    with `recognised`, that the model takes for its category)."""
    for cand in candidate_drawings(category, **limits):
        r = httpx.post(f"{url}/attribute", json={"sketch": {"strokes": cand["strokes"]}}, timeout=30)
        r.raise_for_status()
        if r.json()["removed_strokes"] and (not recognised or r.json()["class"] == category):
            return cand
    raise RuntimeError(f"no small {category} drawing in the data has a blamed stroke")


def open_page(browser: Any, url: str, viewport: dict[str, int] = DESKTOP, has_touch: bool = False,
              finished: list[Any] | None = None) -> Any:
    """A fresh context and page on the service's page, loaded and initialised (model fetched); `finished`
    collects every request the page completes, from the page's own load on."""
    context = browser.new_context(viewport=viewport, has_touch=has_touch, device_scale_factor=1)
    page = context.new_page()
    if finished is not None:
        page.on("requestfinished", lambda r: finished.append(r))
    page.sketchq_problems = []  # console messages about CSP / Trusted Types, and uncaught errors
    page.on("console", lambda m: _note_console(page, m))
    page.on("pageerror", lambda e: page.sketchq_problems.append(f"pageerror: {e}"))
    page.goto(f"{url}/")
    page.wait_for_selector("body[data-ready=true]")
    return page


def _note_console(page: Any, message: Any) -> None:
    text = message.text
    if message.type == "error" and ("Content Security Policy" in text or "Trusted Type" in text
                                    or "Refused to" in text):
        page.sketchq_problems.append(f"console: {text}")


def canvas_box(page: Any) -> dict[str, float]:
    box = page.get_by_test_id("sketch-canvas").bounding_box()
    assert box is not None
    return box


def to_client(box: dict[str, float], x: float, y: float) -> tuple[float, float]:
    """A point of the 256-frame -> viewport coordinates over the canvas."""
    return box["x"] + x * box["width"] / FRAME, box["y"] + y * box["height"] / FRAME


def draw(page: Any, drawing: list[list[list[int]]], kind: str = "mouse") -> None:
    """Draw a Quick, Draw! drawing on the canvas with real input events: mouse (Playwright's mouse),
    pen (CDP mouse events with pointerType pen) or touch (CDP touch events); one event per point."""
    page.get_by_test_id("sketch-canvas").scroll_into_view_if_needed()
    box = canvas_box(page)
    if kind == "mouse":
        for xs, ys in ((s[0], s[1]) for s in drawing):
            page.mouse.move(*to_client(box, xs[0], ys[0]))
            page.mouse.down()
            for x, y in zip(xs[1:], ys[1:], strict=True):
                page.mouse.move(*to_client(box, x, y))
            page.mouse.up()
        return
    cdp = page.context.new_cdp_session(page)
    try:
        for xs, ys in ((s[0], s[1]) for s in drawing):
            pts = [to_client(box, x, y) for x, y in zip(xs, ys, strict=True)]
            if kind == "pen":
                common = {"pointerType": "pen", "button": "left", "clickCount": 1}
                cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": pts[0][0], "y": pts[0][1],
                                                      "pointerType": "pen"})
                cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": pts[0][0], "y": pts[0][1],
                                                      "force": 0.5, **common})
                for px, py in pts[1:]:
                    cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": px, "y": py, "buttons": 1,
                                                          "force": 0.5, **common})
                cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": pts[-1][0], "y": pts[-1][1],
                                                      **common})
            elif kind == "touch":
                cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                                      "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
                for px, py in pts[1:]:
                    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": px, "y": py}]})
                cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            else:
                raise ValueError(kind)
    finally:
        cdp.detach()


SCORED = """() => {
  const c = document.querySelector('[data-testid="sketch-canvas"]');
  const s = document.getElementById('score-card');
  return c.dataset.drawing !== 'true' && s.dataset.revision === c.dataset.revision
    && (s.dataset.state === 'ready' || s.dataset.state === 'error');
}"""


def wait_scored(page: Any, timeout_ms: float = 30_000) -> None:
    """Until the score shown is the answer for the drawing as it is now (or its error)."""
    page.wait_for_function(SCORED, timeout=timeout_ms)


def last_request_json(requests: list[Any], path: str) -> dict[str, Any]:
    """The body of the last POST to `path` among recorded Playwright requests."""
    for req in reversed(requests):
        if req.method == "POST" and req.url.endswith(path):
            return json.loads(req.post_data or "{}")
    raise AssertionError(f"the page sent no POST {path}")


def xy(drawing: list[list[list[float]]]) -> list[list[list[float]]]:
    """A drawing without its time rows."""
    return [[s[0], s[1]] for s in drawing]


def wait_until(condition: Any, what: str, page: Any, timeout_s: float = 30.0) -> None:
    """Poll a Python-side condition, letting Playwright dispatch its events between polls."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.evaluate("0")  # a round trip: Playwright handles pending events (route handlers) meanwhile
