"""Fixtures for the deployment tests: the parsed compose files, Dockerfile and manifests, and the /metrics of
a real server (so the dashboard is checked against what the service really exports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_support import MODEL_DIR, REPO, Dockerfile, Server, load_yaml, load_yaml_all, parse_dockerfile


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return load_yaml(REPO / "docker-compose.yml")


@pytest.fixture(scope="session")
def compose_cpu() -> dict[str, Any]:
    return load_yaml(REPO / "docker-compose.cpu.yml")


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(REPO / "docker" / "Dockerfile")


@pytest.fixture(scope="session")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> manifest, for every document under deploy/k8s (kustomization.yaml apart)."""
    docs: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((REPO / "deploy" / "k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_yaml_all(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in docs, f"{key} defined twice"
            docs[key] = doc
    return docs


@pytest.fixture(scope="session")
def live_metrics() -> str:
    """/metrics of a real `python -m service` (shipped model) after it answered a few requests."""
    if not (MODEL_DIR / "model_card.json").exists():
        pytest.fail(f"no model in {MODEL_DIR}")
    srv = Server()
    try:
        sketch = {"strokes": [[[0, 50, 100, 50, 0], [50, 0, 50, 100, 50]]]}
        assert httpx.post(f"{srv.url}/score", json={"sketches": [sketch]}, timeout=30).status_code == 200
        assert httpx.post(f"{srv.url}/score", json={"sketches": []}, timeout=30).status_code == 422
        assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 200
        r = httpx.get(f"{srv.url}/metrics", timeout=5)
        r.raise_for_status()
        return r.text
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
