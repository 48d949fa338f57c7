"""Optional OpenTelemetry traces on a real server (issue 14, "also expected"): with SKETCHQ_OTEL_TRACES and
the console exporter, a /score request gives a request span, a read_body span and a batcher.submit span in
one trace, and the model call's batch.compute span links to that trace. Skips without opentelemetry-sdk
(the `otel` extra; `make test` installs it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from svc_support import ServerProc

pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")


def spans(log: str) -> list[dict[str, Any]]:
    """The console exporter's spans (pretty-printed JSON objects) in the server's output."""
    out = []
    for block in re.findall(r"^\{\n.*?^\}$", log, flags=re.S | re.M):
        doc = json.loads(block)
        if "context" in doc and "name" in doc:
            out.append(doc)
    return out


def test_a_request_is_traced_from_reading_to_computing(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    srv = ServerProc(model_dir=model_path, cache="off", otel_traces="true")
    try:
        sketch = {"strokes": [[[0, 40, 80], [0, 60, 0]]]}
        r = httpx.post(f"{srv.url}/score", json={"sketches": [sketch, sketch]}, headers={"X-Request-ID": "traced-1"},
                       timeout=30)  # two sketches: queued, computed by an engine worker
        assert r.status_code == 200
        r = httpx.post(f"{srv.url}/score", json={"sketches": [sketch]}, headers={"X-Request-ID": "traced-2"},
                       timeout=30)  # one, the batcher idle: computed on the event loop (inline_when_idle)
        assert r.status_code == 200
    finally:
        srv.stop_and_keep_log = srv.log()  # type: ignore[attr-defined]
        srv.stop()
    found = spans(srv.stop_and_keep_log)  # type: ignore[attr-defined]
    request = next(s for s in found if s["attributes"].get("request_id") == "traced-1")
    trace_id = request["context"]["trace_id"]
    mine = {s["name"] for s in found if s["context"]["trace_id"] == trace_id}
    assert {"read_body", "batcher.submit"} <= mine
    assert request["attributes"]["http.route"] == "/score" and request["attributes"]["http.response.status_code"] == 200
    computes = [s for s in found if s["name"] == "batch.compute"]
    assert any(link["context"]["trace_id"] == trace_id for s in computes for link in s.get("links", []))
    # the inline one is part of its request's trace
    inline_trace = next(s for s in found if s["attributes"].get("request_id") == "traced-2")["context"]["trace_id"]
    assert any(s["context"]["trace_id"] == inline_trace and s["attributes"].get("inline") for s in computes)
