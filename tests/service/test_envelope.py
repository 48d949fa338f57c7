"""What every answer carries, on a real server (issue 14, "also expected"): X-Request-ID taken or made and
echoed (also in problem answers and log lines), nosniff and no-store, one JSON access-log line per request
without the body, process and GC metrics, and routes such as /openapi.json labelled in the metrics."""

from __future__ import annotations

import json
import re

import httpx
from svc_support import ServerProc, is_problem, metric, metrics_text

SKETCH = {"strokes": [[[0, 40, 80], [0, 60, 0]]]}


def test_request_ids_are_taken_or_made_and_echoed(server: ServerProc) -> None:
    r = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    made = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    odd = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 300}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)  # not echoed: a new one
    assert odd != made and len({httpx.get(f"{server.url}/healthz").headers["x-request-id"] for _ in range(20)}) == 20
    r = httpx.post(f"{server.url}/score", json={"sketches": []}, headers={"X-Request-ID": "req-422"})
    assert is_problem(r, 422)["request_id"] == "req-422" == r.headers["x-request-id"]


def test_answers_carry_nosniff_and_no_store(server: ServerProc) -> None:
    for r in (httpx.get(f"{server.url}/healthz"), httpx.get(f"{server.url}/nowhere"),
              httpx.post(f"{server.url}/score", json={"sketches": [SKETCH]}, timeout=30)):
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["cache-control"] == "no-store", r.url
    assert httpx.get(f"{server.url}/").headers["cache-control"] == "no-cache"  # the page keeps its own


def test_one_json_access_line_per_request_without_the_body(server: ServerProc) -> None:
    marker = "zebra-marker-label-42"
    r = httpx.post(f"{server.url}/score", json={"sketches": [{**SKETCH, "label": marker}]},
                   headers={"X-Request-ID": "req-log-1"}, timeout=30)
    assert r.status_code == 422  # (unknown label)
    httpx.post(f"{server.url}/score", json={"sketches": [SKETCH]}, headers={"X-Request-ID": "req-log-2"}, timeout=30)
    lines = [json.loads(ln) for ln in server.log().splitlines() if ln.startswith("{")]
    mine = {ln["request_id"]: ln for ln in lines if ln.get("message") == "request" and ln.get("request_id")}
    assert mine["req-log-2"]["endpoint"] == "/score" and mine["req-log-2"]["status"] == 200
    assert mine["req-log-2"]["latency_ms"] > 0 and mine["req-log-2"]["method"] == "POST"
    assert mine["req-log-1"]["status"] == 422
    assert marker not in server.log()


def test_process_and_gc_metrics_and_route_labels(server: ServerProc) -> None:
    httpx.get(f"{server.url}/openapi.json")
    text = metrics_text(server.url)
    assert metric(text, "process_resident_memory_bytes") > 0
    assert "python_gc_objects_collected_total" in text
    assert metric(text, "sketchq_http_request_duration_seconds_count", endpoint="/openapi.json", method="GET",
                  status_class="2xx") >= 1
