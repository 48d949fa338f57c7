"""Render the web page's views with the real browser into docs/web/*.png (shown in README.md).

    .venv/bin/python tests/web/render_screenshots.py [--out docs/web]

Starts the service on the committed models (like the tests), opens the page in Debian's headless
Chromium through Playwright, draws a real drawing from the data with input events and saves: draw.png
(the live score with a claimed category), attribute.png (the verdict, blamed strokes on the drawing),
enhance.png (input beside the enhanced sketch, the q trajectory), browse.png (validation drawings of a
class by q) and phone.png (a phone-width screen drawn with touch events).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # web_support, server_proc

from web_support import (  # noqa: E402
    DESKTOP,
    MODEL_DIR,
    PHONE,
    REPO,
    ServerProc,
    chromium_path,
    draw,
    drawing_with_blame,
    launch,
    open_page,
    wait_scored,
)

CATEGORY = "bird"


def render(browser: object, url: str, out: Path, drawing: list, category: str = CATEGORY) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def shot(page: object, name: str, full_page: bool = False) -> None:
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        written.append(path)

    page = open_page(browser, url, viewport={"width": DESKTOP["width"], "height": 980})
    try:
        page.get_by_label("Category to claim").select_option(category)
        draw(page, drawing)
        wait_scored(page)
        page.wait_for_function("() => !document.getElementById('label-check').hidden")
        shot(page, "draw")
        page.get_by_test_id("attribute-button").click()
        page.wait_for_selector("#attribute-result[data-state=ready]")
        shot(page, "attribute")
        page.get_by_role("tab", name="Enhance").click()
        page.get_by_test_id("enhance-button").click()
        page.wait_for_selector("#enhance-result[data-state=ready]", timeout=120_000)
        shot(page, "enhance", full_page=True)
        page.get_by_role("tab", name="Browse").click()
        page.get_by_label("Category", exact=True).select_option(category)
        page.wait_for_selector(f"#browse-groups[data-state=ready][data-category={category}]")
        shot(page, "browse", full_page=True)
    finally:
        page.context.close()
    phone = open_page(browser, url, viewport=PHONE, has_touch=True)
    try:
        draw(phone, drawing, "touch")
        wait_scored(phone)
        phone.set_viewport_size({"width": PHONE["width"], "height": 1180})
        shot(phone, "phone")
    finally:
        phone.context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "web")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium, or set SKETCHQ_CHROMIUM)")
    server = ServerProc(model_dir=MODEL_DIR)
    try:
        drawing = drawing_with_blame(server.url, CATEGORY, recognised=True, min_strokes=5, max_strokes=16,
                                     max_points=300)["strokes"]
        with sync_playwright() as p:
            browser = launch(p, executable)
            try:
                for path in render(browser, server.url, args.out, drawing):
                    print(f"wrote {path}")
            finally:
                browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
