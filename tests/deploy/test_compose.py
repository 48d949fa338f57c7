"""docker-compose.yml (and the CPU override) agree with the service: settings, ports, health, volumes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_support import (
    REPO,
    Dockerfile,
    env_mapping,
    field_for_env,
    image_is_pinned,
    interpolate_defaults,
    parse_duration_s,
    settings_env_names,
    settings_from_env,
    uses_variable,
)

from service.core.settings import Settings


def api_env(compose: dict[str, Any]) -> dict[str, str | None]:
    return env_mapping(compose["services"]["api"]["environment"])


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "redis", "lb", "prometheus", "grafana"} <= set(services)
    for name in ("api", "redis", "lb", "prometheus", "grafana"):
        assert "profiles" not in services[name], f"{name} must start with a plain `docker compose up`"
    assert services["train"]["profiles"] == ["train"]


def test_api_environment_is_every_setting_and_nothing_else(compose: dict[str, Any]) -> None:
    env = api_env(compose)
    unknown = [k for k in env if field_for_env(k) is None]
    assert not unknown, f"variables the service does not read: {unknown}"
    missing = [f for f, names in settings_env_names().items() if not any(n in env for n in names)]
    assert not missing, f"settings missing from docker-compose.yml x-api-environment: {missing}"


def test_fixed_api_settings_are_valid_and_fit_a_container(compose: dict[str, Any]) -> None:
    fixed = {k: v for k, v in api_env(compose).items() if v is not None}
    s = settings_from_env({k: interpolate_defaults(v) for k, v in fixed.items()})
    assert s.host == "0.0.0.0"  # 127.0.0.1 (the default) would be unreachable from the load balancer
    # issue 14: rate limits on in the stack, per client behind the load balancer (its X-Forwarded-For)
    assert s.rate_limit and s.forwarded_allow_ips == "*"
    assert s.cache_backend == "redis" and s.redis_url is not None
    assert re.match(r"redis://redis:6379/", s.redis_url)  # the compose service name


def test_api_port_matches_image_lb_and_prometheus(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    port = int(api_env(compose)["SKETCHQ_PORT"] or 0)
    api = compose["services"]["api"]
    assert [str(p) for p in api["expose"]] == [str(port)]
    assert "ports" not in api, "api must not publish a host port, or `--scale api=3` collides"
    stage = dockerfile.stage("api")
    assert ("EXPOSE", str(port)) in stage.instructions
    env_lines = " ".join(rest for instr, rest in stage.instructions if instr == "ENV")
    assert f"SKETCHQ_PORT={port}" in env_lines
    nginx = (REPO / "docker" / "nginx" / "nginx.conf").read_text()
    assert re.search(rf"server\s+api:{port}\b", nginx)
    lb_ports = compose["services"]["lb"]["ports"]
    assert len(lb_ports) == 1 and interpolate_defaults(str(lb_ports[0])).endswith(":8080")
    assert re.search(r"listen\s+8080\s*;", nginx)


def test_gpu_is_reserved_for_the_api(compose: dict[str, Any]) -> None:
    devices = compose["services"]["api"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert compose["services"]["api"]["build"]["args"]["VARIANT"] == "gpu"


def test_cpu_override_drops_the_gpu_and_builds_the_cpu_image(compose_cpu: dict[str, Any]) -> None:
    api = compose_cpu["services"]["api"]
    assert api["build"]["args"]["VARIANT"] == "cpu"
    assert "!reset" in api["deploy"], "the override must remove the GPU reservation"
    assert api["image"].endswith("-cpu")
    assert set(compose_cpu["services"]) <= {"api", "train"}


def test_depends_on_waits_for_health(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    services = compose["services"]
    image_healthcheck = any(i == "HEALTHCHECK" for i, _ in dockerfile.stage("api").instructions)
    assert services["lb"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if spec.get("condition") == "service_healthy":
                has = "healthcheck" in services[dep] or (dep == "api" and image_healthcheck)
                assert has, f"{name} waits for {dep} to be healthy but {dep} has no healthcheck"


def test_redis_is_a_bounded_lru_cache_with_a_healthcheck(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    cmd = [interpolate_defaults(str(c)) for c in redis["command"]]
    assert cmd[0] == "redis-server"
    assert cmd[cmd.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert re.fullmatch(r"\d+[kmg]b", cmd[cmd.index("--maxmemory") + 1])
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_stop_grace_period_covers_the_drain(compose: dict[str, Any]) -> None:
    s = Settings()
    needed = s.shutdown_grace_s + s.request_timeout_s + 1
    assert parse_duration_s(compose["services"]["api"]["stop_grace_period"]) >= needed


def test_images_are_pinned(compose: dict[str, Any], compose_cpu: dict[str, Any]) -> None:
    for c in (compose, compose_cpu):
        for name, svc in c["services"].items():
            if "image" in svc:
                assert image_is_pinned(svc["image"]), f"{name}: {svc['image']}"


def _bind_mounts(compose: dict[str, Any]) -> list[tuple[str, str, str, bool, str | None]]:
    """(service, source with default values, container path, read-only, variable) of every bind mount."""
    named = set(compose.get("volumes") or {})
    out = []
    for name, svc in compose["services"].items():
        for v in svc.get("volumes", []):
            assert isinstance(v, str), "short volume syntax expected"
            parts = interpolate_defaults(v).split(":")
            source, target = parts[0], parts[1]
            if source in named:
                continue
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
            out.append((name, source, target, read_only, uses_variable(v.split(":/")[0])))
    return out


def test_mounted_config_and_model_paths_exist(compose: dict[str, Any]) -> None:
    checked = 0
    for service, source, _target, read_only, variable in _bind_mounts(compose):
        path = (REPO / source).resolve()
        if not read_only:
            continue  # outputs (./runs): Docker creates them
        if variable == "SKETCHQ_TRAIN_DATA":
            continue  # the operator's data set, outside the repository
        assert path.is_relative_to(REPO), f"{service}: {source} lies outside the repository"
        assert path.exists(), f"{service}: {source} -> {path} does not exist"
        checked += 1
    assert checked >= 5
    api_mounts = {t: s for svc, s, t, _, _ in _bind_mounts(compose) if svc == "api"}
    model = REPO / api_mounts[str(settings_from_env(_fixed_api_env(compose)).model_dir)]
    assert (model / "model.onnx").exists() and (model / "model_card.json").exists()


def _fixed_api_env(compose: dict[str, Any]) -> dict[str, str]:
    return {k: interpolate_defaults(v) for k, v in api_env(compose).items() if v is not None}


def test_build_contexts_and_dockerfiles_exist(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    stage_names = {s.name for s in dockerfile.stages}
    for name, svc in compose["services"].items():
        if "build" in svc:
            assert (REPO / svc["build"]["context"] / svc["build"]["dockerfile"]).exists()
            assert svc["build"]["target"] in stage_names, name


def _compose_cli() -> list[str] | None:
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) is None:
            continue
        try:
            out = subprocess.run([*cmd, "version"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and re.search(r"v?2\.\d+", out.stdout):
            return cmd
    return None


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.cpu.yml"]],
                         ids=["gpu", "cpu"])
def test_docker_compose_config_accepts_the_files(files: list[str], tmp_path: Path) -> None:
    """`docker compose config` validates without an engine; skipped where only the bare Docker CLI exists."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip("Docker Compose v2 is not installed here (only the Docker CLI, whose `compose` "
                    "subcommand is a separate plugin); the YAML checks above still ran")
    args = [*cli, "--project-directory", str(REPO)]
    for f in files:
        args += ["-f", str(REPO / f)]
    out = subprocess.run([*args, "--profile", "train", "config", "--quiet"], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
