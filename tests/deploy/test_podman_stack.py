"""deploy/podman_stack.py and what it runs the stack with (docker-compose.podman.yml, docker/base/): the stand-ins
replace only the registry images, and the one change to the nginx configuration is the one nginx 1.22 needs.

The script itself (images built, containers and the stack run) is run by .ci/run after `make test`; here only
its pieces that need no podman, and its skip where podman cannot run."""

from __future__ import annotations

import difflib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from deploy_support import REPO, Dockerfile, load_yaml


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("podman_stack", REPO / "deploy" / "podman_stack.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stack = _load()
BASE = REPO / "docker" / "base"


@pytest.fixture(scope="module")
def podman_override() -> dict[str, Any]:
    return load_yaml(REPO / "docker-compose.podman.yml")


def test_nginx_conf_for_podman_only_drops_resolve() -> None:
    original = (REPO / "docker" / "nginx" / "nginx.conf").read_text()
    changed = stack.nginx_conf_for_podman(original)
    diff = [d for d in difflib.unified_diff(original.splitlines(), changed.splitlines(), lineterm="", n=0)
            if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    assert len(diff) == 2, diff
    removed, added = diff
    assert removed[0] == "-" and added[0] == "+"
    assert removed[1:].split() == ["server", "api:8000", "resolve", *added[1:].split()[2:]], diff
    assert added[1:].split()[:2] == ["server", "api:8000"] and "resolve" not in added
    with pytest.raises(stack.CheckFailed):
        stack.nginx_conf_for_podman(changed)  # the production file must keep its `resolve`


def test_the_podman_override_replaces_the_registry_images_and_nothing_else(
        podman_override: dict[str, Any], compose: dict[str, Any]) -> None:
    services = podman_override["services"]
    assert set(podman_override) == {"services"}
    assert set(services) == {"api", "redis", "lb", "prometheus", "grafana"}
    assert services["api"] == {"deploy": {"mode": "replicated", "replicas": 2}}  # two replicas, nothing else
    made = {tag for tag, _ in stack.BASES.values()}
    for name in ("redis", "lb", "prometheus"):
        assert services[name]["image"] in made, name
        assert set(services[name]) <= {"image", "volumes"}, name
    assert services["grafana"] == {"profiles": ["grafana"]}  # not started by a plain `up`
    # The lb keeps its configuration's mount target; only the source (the derived file) changes.
    (mount,) = services["lb"]["volumes"]
    (orig,) = compose["services"]["lb"]["volumes"]
    assert mount.rsplit(":", 2)[1:] == orig.rsplit(":", 2)[1:] == ["/etc/nginx/nginx.conf", "ro"]
    assert "SKETCHQ_PODMAN_NGINX_CONF" in mount
    # The API image is the one docker-compose.cpu.yml names, which the script builds.
    cpu = load_yaml(REPO / "docker-compose.cpu.yml")
    assert f"localhost/{cpu['services']['api']['image']}" == stack.API_IMAGE
    assert f"localhost/{compose['services']['train']['image']}" == stack.TRAIN_IMAGE


def test_each_base_recipe_names_the_image_it_stands_in_for(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    stands_for = {"python": dockerfile.args["PYTHON_IMAGE"], "redis": compose["services"]["redis"]["image"],
                  "nginx": compose["services"]["lb"]["image"], "prometheus": compose["services"]["prometheus"]["image"]}
    assert set(stack.BASES) == set(stands_for)
    for key, (_tag, recipe) in stack.BASES.items():
        text = (BASE / recipe).read_text()
        assert f"Stand-in for {stands_for[key]} " in text, (recipe, stands_for[key])
        assert "ARG DEBIAN_IMAGE=" + stack.DEBIAN in text
    # The Dockerfile keeps the real bases: the stand-in comes in as a build argument only.
    assert dockerfile.args["PYTHON_IMAGE"].startswith("python:")
    assert dockerfile.args["CUDA_IMAGE"].startswith("nvidia/cuda:")


@pytest.mark.parametrize("args,expected", [
    (["redis-server", "--maxmemory", "512mb"], "redis-server --protected-mode no --maxmemory 512mb"),
    (["--maxmemory", "1gb", "--save", ""], "redis-server --protected-mode no --maxmemory 1gb --save "),
    (["redis-server", "--protected-mode", "yes"], "redis-server --protected-mode yes"),
    (["redis-cli", "ping"], "redis-cli ping"),
])
def test_the_redis_stand_in_entry_point_acts_like_the_official_one(tmp_path: Path, args: list[str],
                                                                   expected: str) -> None:
    """Compose passes `redis-server ...`, the Kubernetes manifest bare options (the official image's entry
    point adds redis-server); protected mode is off as in the official build, unless set."""
    for prog in ("redis-server", "redis-cli"):
        stub = tmp_path / prog
        stub.write_text(f'#!/bin/sh\necho "{prog} $*"\n')
        stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    out = subprocess.run(["sh", str(BASE / "redis-entrypoint.sh"), *args], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.rstrip("\n") == expected


def test_the_script_skips_with_a_message_where_podman_cannot_run(tmp_path: Path) -> None:
    """No podman (an empty PATH): exit 0 with a SKIPPED line, or 1 with --require. Nothing is built."""
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": str(tmp_path)}
    report = tmp_path / "report.json"
    cmd = [sys.executable, str(REPO / "deploy" / "podman_stack.py"), "--report", str(report)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SKIPPED" in p.stdout
    assert '"skipped"' in report.read_text()
    p = subprocess.run([*cmd, "--require"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "SKIPPED" in p.stdout


def test_json_diff_names_the_first_difference() -> None:
    assert stack.diff_json({"a": [1, {"b": 2.0}]}, {"a": [1, {"b": 2.0}]}) is None
    assert stack.diff_json({"a": [1, {"b": 2.0}]}, {"a": [1, {"b": 2.5}]}) == "$.a[1].b: 2.0 vs 2.5"
    assert stack.diff_json({"a": 1}, {"a": 1, "c": 0}) == "$.c: only on one side"
    assert stack.diff_json([1], [1, 2]) == "$: 1 vs 2 items"


def test_ci_runs_the_tests_then_the_script() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    lines = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert "make test" in lines
    (script,) = [ln for ln in lines if "deploy/podman_stack.py" in ln]
    assert lines.index("make test") < lines.index(script)
    assert "--require" not in script  # a machine without podman skips, with the script's message


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
def test_metric_sums_the_matching_samples() -> None:
    text = ('sketchq_cache_requests_total{outcome="hit"} 3.0\nsketchq_cache_requests_total{outcome="miss"} 5.0\n'
            'sketchq_cache_requests_total_created{outcome="hit"} 1.7e9\n')
    assert stack.metric(text, "sketchq_cache_requests_total", outcome="hit") == 3.0
    assert stack.metric(text, "sketchq_cache_requests_total") == 8.0
