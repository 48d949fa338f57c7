"""The published contract and the observability surface: openapi.yaml, /metrics, settings and their table."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
import yaml
from pydantic import ValidationError
from svc_support import REPO, SERVER_LIMITS, ServerProc, metrics_text

from service.api.served_contract import serve_limits
from service.core.settings import Settings, settings_table
from service.docs import SETTINGS_MARKERS, readme_with_table

METRICS = [
    "sketchq_http_request_duration_seconds_bucket",
    "sketchq_sketches_scored_total",
    "sketchq_batch_size_bucket",
    "sketchq_queue_wait_seconds_bucket",
    "sketchq_compute_seconds_bucket",
    "sketchq_batch_padding_ratio_bucket",
    "sketchq_queue_depth",
    "sketchq_rejected_requests_total",
    "sketchq_dropped_sketches_total",
    "sketchq_cache_requests_total",
    "sketchq_cache_outages_total",
    "sketchq_model_info",
    "sketchq_ready",
]


def test_openapi_yaml_is_what_the_app_serves(server: ServerProc, card: dict) -> None:
    """Fails on drift: regenerate with `python -m service.docs` and commit openapi.yaml. A running server
    adds its limits and the model's classes, nothing else (issue 14, defect 7)."""
    published = yaml.safe_load((REPO / "openapi.yaml").read_text())
    served = httpx.get(f"{server.url}/openapi.json").json()
    settings = Settings(**SERVER_LIMITS)  # type: ignore[arg-type]
    serve_limits(published, SimpleNamespace(settings=settings, model=SimpleNamespace(classes=card["classes"]),
                                            enhancer=None))  # type: ignore[arg-type]
    assert published == served
    schemas = served["components"]["schemas"]
    assert schemas["ScoreRequest"]["properties"]["sketches"]["maxItems"] == settings.max_sketches
    assert schemas["SketchIn"]["properties"]["strokes"]["maxItems"] == settings.max_strokes
    assert schemas["AttributeSketchIn"]["properties"]["strokes"]["maxItems"] == settings.attribute_max_strokes
    steps = schemas["EnhanceRequest"]["properties"]["steps"]["anyOf"][0]
    assert steps["maximum"] == settings.enhance_max_steps and steps["minimum"] == 0
    assert {"required": ["points"]} in schemas["SketchIn"]["oneOf"]  # exactly one format, in the contract too


def test_every_documented_error_is_problem_json(server: ServerProc) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    seen = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for code, resp in op["responses"].items():
                if code.startswith(("4", "5")):
                    seen += 1
                    assert list(resp["content"]) == ["application/problem+json"], (path, method, code)
    assert seen >= 5
    assert "ValidationError" not in doc["components"]["schemas"]


def test_metrics_has_the_named_metrics(server: ServerProc, sketches: list[dict]) -> None:
    assert httpx.post(f"{server.url}/score", json={"sketches": sketches[:3]}).status_code == 200
    text = metrics_text(server.url)
    for name in METRICS:
        assert f"\n{name}" in text, name
    assert 'endpoint="/score"' in text and 'status_class="2xx"' in text
    assert 'providers="CPUExecutionProvider"' in text or "CUDAExecutionProvider" in text
    assert 'outcome="error"' in text


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKETCHQ_MAX_BATCH", "8")
    monkeypatch.setenv("SKETCHQ_LENGTH_BUCKETS", "64, 16,32")
    monkeypatch.setenv("REDIS_URL", "redis://example:6379/1")
    s = Settings()
    assert s.max_batch == 8 and s.length_buckets == [16, 32, 64]
    assert s.redis_url == "redis://example:6379/1" and s.cache_backend == "redis"
    assert s.buckets_for(48) == [16, 32, 48]
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.delenv("SKETCHQ_LENGTH_BUCKETS")
    assert Settings().cache_backend == "memory" and Settings().buckets_for(128) == [32, 64, 96, 128]
    with pytest.raises(ValidationError):
        Settings(max_queue=10, max_sketches=256)
    with pytest.raises(ValidationError):
        Settings(cache="redis")


def test_the_readme_settings_table_is_generated_from_settings() -> None:
    """Fails on drift: regenerate with `python -m service.docs` and commit README.md."""
    readme = (REPO / "README.md").read_text()
    assert readme_with_table(readme) == readme
    table = readme.split(SETTINGS_MARKERS[0], 1)[1].split(SETTINGS_MARKERS[1], 1)[0]
    assert table.strip() == settings_table().strip()
    for name in Settings.model_fields:  # every setting has its row
        assert f"`SKETCHQ_{name.upper()}`" in table, name
    assert readme_with_table(readme.replace("`SKETCHQ_MAX_BATCH` | `64`", "`SKETCHQ_MAX_BATCH` | `32`")) == readme
