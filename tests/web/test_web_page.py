"""The web page at / in a real headless Chromium against a real server: drawing with mouse, pen and touch
events, live scores, attribution, enhancement, browse, errors, keyboard and phone use, headers, metrics.

Every number the page shows is compared with the API's own answer for the same request body (sent with
httpx), so the page can neither invent nor drop a value. Waits are on page conditions, never sleeps.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from web_support import (
    DESKTOP,
    PHONE,
    ServerProc,
    draw,
    last_request_json,
    open_page,
    wait_scored,
    wait_until,
    xy,
)

pytestmark = pytest.mark.slow


def api(url: str, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = httpx.post(f"{url}{path}", json=body, timeout=60)
    assert r.status_code == status, r.text[:500]
    return r.json()


def shown_float(page: Any, testid: str) -> float:
    return float(page.get_by_test_id(testid).get_attribute("data-value"))


def assert_shows_score(page: Any, result: dict[str, Any]) -> None:
    """The score card shows exactly this /score result."""
    assert shown_float(page, "quality") == result["quality"]
    assert abs(float(page.get_by_test_id("quality").inner_text()) - result["quality"]) <= 0.005 + 1e-9
    assert float(page.get_by_test_id("percentile").get_attribute("data-value")) == result["quality_percentile"]
    assert page.get_by_test_id("predicted-class").inner_text() == result["class"]
    shown_topk = page.locator("#topk li").evaluate_all("els => els.map(e => e.dataset.class)")
    assert shown_topk == [t["class"] for t in result["top_k"]]


def record_requests(page: Any) -> list[Any]:
    requests: list[Any] = []
    page.on("request", lambda r: requests.append(r))
    return requests


# --- served files and headers -------------------------------------------------------------------------


def test_page_and_assets_carry_a_strict_csp_and_api_answers_do_not(web_server: ServerProc) -> None:
    url = web_server.url
    r = httpx.get(f"{url}/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = {d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split("; ")}
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "require-trusted-types-for" in csp
    assert not any("unsafe" in v for values in csp.values() for v in values)
    assert r.headers["x-content-type-options"] == "nosniff"
    html = r.text
    assert not re.search(r"<script(?![^>]*\ssrc=)", html), "inline script"
    assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html), "inline style or handler"
    # Every asset the page loads (HTML references and the module graph) is served by the service itself.
    refs = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    pending = [p for p in refs if p.endswith(".js")]
    while pending:
        js = httpx.get(f"{url}{pending.pop()}").text
        for rel in re.findall(r'from "\./([^"]+)"', js):
            path = f"/static/js/{rel}"
            if path not in refs:
                refs.add(path)
                pending.append(path)
    assert {"/static/app.css", "/static/js/main.js", "/static/js/pad.js", "/static/favicon.svg"} <= refs
    for path in sorted(refs):
        a = httpx.get(f"{url}{path}")
        assert a.status_code == 200, path
        assert a.headers["content-security-policy"] == r.headers["content-security-policy"], path
        assert not re.search(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)[a-z0-9.-]+\.[a-z]{2,}", a.text), (
            f"{path} refers to another origin")
        again = httpx.get(f"{url}{path}", headers={"if-none-match": a.headers["etag"]})
        assert again.status_code == 304, path
    assert httpx.head(f"{url}/").status_code == 200
    for missing in ("/static/examples.json", "/static/index.html", "/static/../web.py", "/static/nope.js"):
        m = httpx.get(f"{url}{missing}")
        assert m.status_code == 404 and m.headers["content-type"].startswith("application/problem+json"), missing
    score = httpx.post(f"{url}/score", json={"sketches": [{"strokes": [[[0, 10], [0, 10]]]}]})
    assert score.status_code == 200 and "content-security-policy" not in score.headers


# --- drawing and live scores ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mouse", "pen", "touch"])
def test_drawing_is_scored_live_like_the_api(kind: str, browser: Any, web_server: ServerProc,
                                             blamed_drawing: dict[str, Any]) -> None:
    """A real drawing drawn with real input events (touch at phone width): the page records exactly its
    points as Quick, Draw! strokes, and shows what POST /score answers for them."""
    phone = kind == "touch"
    page = open_page(browser, web_server.url, viewport=PHONE if phone else DESKTOP, has_touch=phone)
    try:
        requests = record_requests(page)
        drawing = blamed_drawing["strokes"]
        draw(page, drawing, kind)
        wait_scored(page)
        assert page.get_by_test_id("sketch-canvas").get_attribute("data-strokes") == str(len(drawing))
        sent = last_request_json(requests, "/score")
        strokes = sent["sketches"][0]["strokes"]
        assert xy(strokes) == drawing  # the page recorded the very points drawn, in the 0..255 frame
        assert all(len(s) == 3 and s[2] == sorted(s[2]) for s in strokes)  # with times, Quick, Draw! raw style
        expected = api(web_server.url, "/score", {"sketches": [{"strokes": drawing}], "top_k": 5})["results"][0]
        assert_shows_score(page, expected)
        assert page.locator("#score-card").get_attribute("data-state") == "ready"
        if phone:  # usable at phone width: nothing wider than the screen, the canvas fully on it
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            box = page.get_by_test_id("sketch-canvas").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert not page.sketchq_problems, page.sketchq_problems
    finally:
        page.context.close()


def test_claimed_category_shows_the_label_check(page: Any, web_server: ServerProc) -> None:
    """Claim a category, load a bundled example of it: the label check is the API's for that label."""
    requests = record_requests(page)
    page.get_by_label("Category to claim").select_option("cat")
    page.get_by_role("button", name="Load an example").click()
    page.wait_for_function("() => document.getElementById('score-card').dataset.state === 'ready'"
                           " && !document.getElementById('label-check').hidden")
    wait_scored(page)
    sent = last_request_json(requests, "/score")
    assert sent["sketches"][0]["label"] == "cat"
    expected = api(web_server.url, "/score", sent)["results"][0]
    assert_shows_score(page, expected)
    check = page.get_by_test_id("label-check")
    assert check.get_attribute("data-suspect") == str(expected["label_check"]["suspect"]).lower()
    assert f"{expected['label_check']['theta']:.2f} rad" in check.inner_text()
    card = httpx.get(f"{web_server.url}/v1/model").json()["thresholds"]["label_check"]
    assert f"{card['theta_suspect']:.2f} rad" in check.inner_text()  # the threshold comes from the card


def test_undo_and_clear(page: Any, web_server: ServerProc, blamed_drawing: dict[str, Any]) -> None:
    drawing = blamed_drawing["strokes"]
    draw(page, drawing)
    wait_scored(page)
    page.keyboard.press("Control+z")  # undo from the keyboard
    wait_scored(page)
    assert page.get_by_test_id("sketch-canvas").get_attribute("data-strokes") == str(len(drawing) - 1)
    expected = api(web_server.url, "/score", {"sketches": [{"strokes": drawing[:-1]}], "top_k": 5})["results"][0]
    assert_shows_score(page, expected)
    page.get_by_role("button", name="Clear").click()
    page.wait_for_function("() => document.getElementById('score-card').dataset.state === 'empty'")
    assert page.get_by_test_id("quality").inner_text() == "–"


# --- attribute ----------------------------------------------------------------------------------------


def test_attribute_shows_the_api_verdict_and_blamed_strokes(page: Any, web_server: ServerProc,
                                                             blamed_drawing: dict[str, Any]) -> None:
    requests = record_requests(page)
    drawing = blamed_drawing["strokes"]
    draw(page, drawing)
    wait_scored(page)
    page.get_by_test_id("attribute-button").click()
    page.wait_for_selector("#attribute-result[data-state=ready]")
    sent = last_request_json(requests, "/attribute")
    assert xy(sent["sketch"]["strokes"]) == drawing
    expected = api(web_server.url, "/attribute", {"sketch": {"strokes": drawing}})
    assert page.get_by_test_id("verdict").inner_text() == expected["verdict"]
    removed = expected["removed_strokes"]
    assert removed, "the fixture drawing has a blamed stroke"
    # the blamed strokes are drawn in the blame colour on the canvas, numbered in the list
    assert page.get_by_test_id("sketch-canvas").get_attribute("data-blamed") == ",".join(map(str, removed))
    items = page.locator("#blamed li")
    assert items.evaluate_all("els => els.map(e => Number(e.dataset.stroke))") == removed
    # each one's effect: q of the drawing without that stroke alone, minus q of the drawing (POST /score)
    variants = [{"strokes": [s for j, s in enumerate(drawing) if j != i]} for i in removed]
    qs = [r["quality"] for r in api(web_server.url, "/score", {"sketches": [{"strokes": drawing}, *variants],
                                                                  "top_k": 1})["results"]]
    deltas = items.evaluate_all("els => els.map(e => Number(e.dataset.delta))")
    assert deltas == [q - qs[0] for q in qs[1:]]
    shown = [float(t) for t in items.locator(".delta").all_inner_texts()]
    assert all(abs(a - b) <= 0.005 + 1e-9 for a, b in zip(shown, deltas, strict=True))
    assert f"{expected['best_quality']:.2f}" in page.locator("#attribute-path").inner_text()
    # drawing on invalidates the attribution: the highlight goes, the result says it is stale
    draw(page, [[[10, 40], [240, 240]]])
    wait_scored(page)
    assert page.get_by_test_id("sketch-canvas").get_attribute("data-blamed") == ""
    assert page.locator("#attribute-result").get_attribute("data-state") == "stale"


# --- enhance ------------------------------------------------------------------------------------------


def test_enhance_shows_the_api_answer_and_replays_its_steps(page: Any, web_server: ServerProc,
                                                             blamed_drawing: dict[str, Any]) -> None:
    drawing = blamed_drawing["strokes"]
    draw(page, drawing)
    wait_scored(page)
    page.get_by_role("tab", name="Enhance").click()
    page.get_by_label("Seed").fill("3")
    page.get_by_label("Alpha").fill("0.1")
    page.get_by_label("Steps").fill("4")
    held: list[Any] = []
    page.route("**/enhance", lambda route: held.append(route))  # hold the first request to see the page while it runs
    page.get_by_test_id("enhance-button").click()
    wait_until(lambda: bool(held), "the page's POST /enhance", page)
    status = page.get_by_test_id("enhance-status")
    assert "Enhancing" in status.inner_text() and status.is_visible()
    assert page.get_by_test_id("enhance-button").is_disabled()
    assert page.locator("#enhance-result").get_attribute("aria-busy") == "true"
    sent = json.loads(held[0].request.post_data)
    held[0].continue_()
    page.unroute("**/enhance")
    page.wait_for_selector("#enhance-result[data-state=ready]", timeout=120_000)
    assert status.inner_text() == ""
    assert xy(sent["sketch"]["strokes"]) == drawing
    assert (sent["seed"], sent["alpha"], sent["steps"]) == (3, 0.1, 4)
    expected = api(web_server.url, "/enhance", {"sketch": {"strokes": drawing}, "seed": 3, "alpha": 0.1, "steps": 4})
    assert shown_float(page, "enhanced-quality") == expected["enhanced_quality"]
    assert shown_float(page, "original-quality") == expected["original_quality"]
    assert page.get_by_test_id("enhanced-quality").inner_text() == f"{expected['enhanced_quality']:.2f}"
    assert page.locator("#enh-output > *").count() == len(expected["enhanced"]["strokes"])
    assert page.locator("#enh-input > *").count() == len(drawing)
    assert page.locator("#enh-plot circle").count() == len(expected["trajectory"]) == 5
    # the replay shows the search's best sketch after each step where q moved, each the API's
    page.get_by_test_id("replay-button").click()
    page.wait_for_selector("#enhance-result[data-replay=done]", timeout=120_000)
    frames = json.loads(page.locator("#enhance-result").get_attribute("data-frames"))
    trajectory = {p["step"]: p["quality"] for p in expected["trajectory"]}
    assert frames[0]["step"] == 0 and frames[-1]["step"] == 4 and len(frames) >= 2
    assert all(f["quality"] == trajectory[f["step"]] for f in frames), (frames, trajectory)


# --- errors -------------------------------------------------------------------------------------------


def test_an_error_answer_is_shown_with_its_detail(page: Any, web_server: ServerProc,
                                                   blamed_drawing: dict[str, Any]) -> None:
    drawing = blamed_drawing["strokes"]
    draw(page, drawing)
    wait_scored(page)
    page.get_by_role("tab", name="Enhance").click()
    page.get_by_label("Alpha").fill("5000")
    page.get_by_test_id("enhance-button").click()
    error = page.get_by_test_id("enhance-error")
    error.wait_for(state="visible")
    problem = api(web_server.url, "/enhance", {"sketch": {"strokes": drawing}, "seed": 0, "alpha": 5000}, 422)
    assert problem["detail"] in error.inner_text() and "422" in error.inner_text()
    assert error.get_attribute("role") == "alert"
    assert page.locator("#enhance-result").get_attribute("data-state") == "error"
    assert not page.get_by_test_id("enhance-button").is_disabled()  # the page recovers


# --- browse -------------------------------------------------------------------------------------------


def test_browse_shows_validation_drawings_ordered_by_q(page: Any, web_server: ServerProc) -> None:
    requests = record_requests(page)
    page.get_by_role("tab", name="Browse").click()
    page.get_by_label("Category", exact=True).select_option("cat")
    page.wait_for_selector("#browse-groups[data-state=ready][data-category=cat]")
    doc = httpx.get(f"{web_server.url}/v1/examples", params={"category": "cat"}).json()
    assert doc["current"]
    shown = page.locator("#browse-groups li").evaluate_all("els => els.map(e => Number(e.dataset.quality))")
    stored = [d["quality"] for g in ("bottom", "middle", "top") for d in doc["groups"][g]]
    assert shown == stored and shown == sorted(shown) and len(shown) >= 24
    # load the best-drawn one into the canvas: the live score is the stored one
    top = doc["groups"]["top"][-1]
    page.locator(f"#browse-groups li[data-rank='{top['rank']}']").get_by_role("button").click()
    wait_scored(page)
    assert last_request_json(requests, "/score")["sketches"][0]["strokes"] == top["strokes"]
    assert shown_float(page, "quality") == top["quality"]
    assert page.get_by_test_id("predicted-class").inner_text() == top["class"]


# --- keyboard, labels ---------------------------------------------------------------------------------


def test_usable_with_a_keyboard_and_every_control_labelled(page: Any) -> None:
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.textContent.trim()).map(e => e.outerHTML)""")
    assert unlabelled == []
    # keyboard only: Tab to "Load an example", Enter: a drawing is loaded and scored
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "example":
            break
    else:
        pytest.fail("Tab never reached 'Load an example'")
    page.keyboard.press("Enter")
    wait_scored(page)
    assert int(page.get_by_test_id("sketch-canvas").get_attribute("data-strokes")) > 0
    assert page.get_by_test_id("quality").inner_text() != "–"
    # the view tabs follow the arrow keys; the attribute button is reachable and works with Enter
    page.get_by_role("tab", name="Attribute").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-enhance"
    assert page.locator("#panel-enhance").is_visible() and not page.locator("#panel-attribute").is_visible()
    page.keyboard.press("ArrowLeft")
    page.get_by_test_id("attribute-button").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#attribute-result[data-state=ready]")
    assert page.get_by_test_id("verdict").inner_text() in ("benign", "rare_hard", "malicious")


# --- metrics ------------------------------------------------------------------------------------------


def request_counts(url: str) -> dict[tuple[str, str, str], float]:
    text = httpx.get(f"{url}/metrics").text
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "sketchq_http_request_duration_seconds_count":
                out[(s.labels["endpoint"], s.labels["method"], s.labels["status_class"])] = s.value
    return out


def test_the_pages_requests_count_in_the_metrics(browser: Any, web_server: ServerProc,
                                                 blamed_drawing: dict[str, Any]) -> None:
    before = request_counts(web_server.url)
    done: list[Any] = []
    page = open_page(browser, web_server.url, finished=done)
    try:
        draw(page, blamed_drawing["strokes"])
        wait_scored(page)
        page.get_by_test_id("attribute-button").click()
        page.wait_for_selector("#attribute-result[data-state=ready]")
        page.wait_for_load_state("networkidle")
        after = request_counts(web_server.url)
    finally:
        page.context.close()
    page_posts = {p: sum(1 for r in done if r.method == "POST" and r.url.endswith(p)) for p in ("/score", "/attribute")}
    assert page_posts["/score"] >= 2 and page_posts["/attribute"] == 1
    for endpoint, n in page_posts.items():
        key = (endpoint, "POST", "2xx")
        assert after.get(key, 0) - before.get(key, 0) == n, endpoint
    assert after[("/", "GET", "2xx")] - before.get(("/", "GET", "2xx"), 0) == 1
    assert after[("/v1/model", "GET", "2xx")] - before.get(("/v1/model", "GET", "2xx"), 0) >= 1
    static = sum(1 for r in done if "/static/" in r.url)
    assert static >= 9  # the stylesheet and the scripts
    assert after[("/static/{path:path}", "GET", "2xx")] - before.get(("/static/{path:path}", "GET", "2xx"), 0) >= static
