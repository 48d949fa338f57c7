"""The compose stack under podman-compose: two replicas, shared Redis, the load balancer, stop, teardown."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

from .http_probes import call, free_port, http, metric, ready, wait_until
from .podman_cli import Podman
from .reference import requests_to_compare, unique_sketch
from .report import CheckFailed, Report, diff_json, say
from .settings import CACHE, PODMAN_COMPOSE, PREFIX, READY_BOUND_S, REPO, STOP_TIMEOUT_S
from .stack_prometheus import check_prometheus


def podman_compose(podman: Podman) -> list[str]:
    venv = CACHE / "podman-compose-venv"
    exe = venv / "bin" / "podman-compose"
    stamp = venv / "requirements.txt"
    if not exe.exists() or not stamp.exists() or stamp.read_text() != "\n".join(PODMAN_COMPOSE):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PODMAN_COMPOSE], check=True)
        stamp.write_text("\n".join(PODMAN_COMPOSE))
    return [str(exe), "--podman-path", "podman", "-p", PREFIX, "-f", str(REPO / "docker-compose.yml"),
            "-f", str(REPO / "docker-compose.cpu.yml"), "-f", str(REPO / "docker-compose.podman.yml")]


def nginx_conf_for_podman(text: str) -> str:
    """docker/nginx/nginx.conf for Debian's nginx 1.22: without the upstream `resolve` parameter (open-source
    nginx has it from 1.27.3; the compose stack's nginx:1.28 uses it to follow `--scale`). Nothing else changes:
    without `resolve`, `api` is resolved once at start (podman's DNS gives every replica), and the `resolver`
    line, Docker's DNS, goes unused."""
    out, n = re.subn(r"(\bserver\s+api:\d+)\s+resolve\b", r"\1", text)
    if n != 1:
        raise CheckFailed("docker/nginx/nginx.conf: expected one `server api:PORT resolve` line")
    return out


def check_stack(podman: Podman, report: Report, local: dict[str, tuple[int, Any]], keep: bool) -> None:
    httpx = http()
    compose = podman_compose(podman)
    conf = CACHE / "nginx.conf"
    conf.write_text(nginx_conf_for_podman((REPO / "docker" / "nginx" / "nginx.conf").read_text()))
    lb_port, prom_port = free_port(), free_port()
    env = {**podman.env, "SKETCHQ_PODMAN_NGINX_CONF": str(conf), "SKETCHQ_LB_PORT": str(lb_port),
           "PROMETHEUS_PORT": str(prom_port)}
    env.pop("COMPOSE_FILE", None)

    def run_compose(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        say("$ podman-compose " + " ".join(args))
        p = subprocess.run([*compose, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise CheckFailed(f"podman-compose {' '.join(args)} exited with {p.returncode}:\n"
                              f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        return p

    def down() -> None:
        stack_down(podman, compose, env)

    down()
    up_done = False
    try:
        t_up = time.monotonic()
        run_compose("up", "-d", "--no-build")  # two api replicas: docker-compose.podman.yml
        up_done = True
        names = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PREFIX}", "--format",
                       "{{.Names}}", quiet=True).stdout.split()
        apis = sorted(n for n in names if re.search(r"[_-]api[_-]\d+$", n))
        report.check("stack: redis, lb, prometheus and two api replicas were created (grafana is not run)",
                     len(apis) == 2 and any("redis" in n for n in names)
                     and any(re.search(r"[_-]lb[_-]", n) for n in names)
                     and any("prometheus" in n for n in names) and not any("grafana" in n for n in names), names)
        ips = {n: _container_ip(podman, n) for n in apis}
        urls = {n: f"http://{ip}:8000" for n, ip in ips.items()}
        lb = f"http://127.0.0.1:{lb_port}"
        for n, u in urls.items():
            wait_until(f"{n} /readyz", lambda u=u: ready(u), READY_BOUND_S + 30)
        wait_until("load balancer /readyz", lambda: ready(lb), 60)
        report.time("stack_up_to_ready", time.monotonic() - t_up)
        for n in apis:
            rz = httpx.get(f"{urls[n]}/readyz", timeout=5).json()
            report.equal(f"stack: {n} is ready and uses the shared Redis", (rz["status"], rz["cache"]),
                         ("ready", "redis"))

        # A sketch cached through one replica is a hit on the other.
        a, b = apis
        s = {"sketches": [unique_sketch()]}
        before = httpx.get(f"{urls[b]}/metrics", timeout=5).text
        r1 = httpx.post(f"{urls[a]}/score", json=s, timeout=30).json()
        r2 = httpx.post(f"{urls[b]}/score", json=s, timeout=30).json()
        after = httpx.get(f"{urls[b]}/metrics", timeout=5).text
        hits = metric(after, "sketchq_cache_requests_total", outcome="hit") - \
            metric(before, "sketchq_cache_requests_total", outcome="hit")
        report.check("stack: a sketch scored by one replica is a cache hit on the other (shared Redis)",
                     r1["results"][0]["cached"] is False and r2["results"][0]["cached"] is True and hits == 1
                     and diff_json({**r2["results"][0], "cached": False}, r1["results"][0]) is None,
                     f"first cached={r1['results'][0]['cached']}, second cached={r2['results'][0]['cached']}, "
                     f"hits on the second +{hits:g}")
        s2 = {"sketches": [unique_sketch()]}
        via_lb = httpx.post(f"{lb}/score", json=s2, timeout=30).json()
        both = [httpx.post(f"{u}/score", json=s2, timeout=30).json()["results"][0]["cached"] for u in urls.values()]
        report.check("stack: a sketch scored through the load balancer is then a hit on both replicas",
                     via_lb["results"][0]["cached"] is False and both == [True, True], both)

        # The load balancer answers like the local service and spreads requests over both replicas.
        for (method, path, body), (_, want) in list(zip(requests_to_compare(), local.values(), strict=True))[:2]:
            st, got = call(lb, method, path, body)
            if path == "/score":
                got = {**got, "results": [{**r, "cached": False} for r in got["results"]]}
            d = diff_json(got, want)
            report.check(f"stack: {method} {path} through the load balancer answers like python -m service",
                         st == 200 and d is None, d or ("" if st == 200 else f"status {st}"))
        counts_before = {n: _score_requests(urls[n]) for n in apis}
        threads = [threading.Thread(target=lambda: [httpx.post(f"{lb}/score", json={"sketches": [unique_sketch()]},
                                                               timeout=30) for _ in range(6)]) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        spread = {n: _score_requests(urls[n]) - counts_before[n] for n in apis}
        report.check("stack: 36 requests through the load balancer reach both replicas",
                     sum(spread.values()) == 36 and min(spread.values()) > 0, spread)

        redis = next(n for n in names if "redis" in n)
        cfg = podman("exec", redis, "redis-cli", "config", "get", "maxmemory-policy", quiet=True).stdout.split()
        mem = podman("exec", redis, "redis-cli", "config", "get", "maxmemory", quiet=True).stdout.split()
        keys = int(podman("exec", redis, "redis-cli", "dbsize", quiet=True).stdout.strip() or 0)
        report.check("stack: Redis holds the cache, bounded (512mb, allkeys-lru) as compose starts it",
                     cfg[-1:] == ["allkeys-lru"] and mem[-1:] == [str(512 * 1024 * 1024)] and keys > 0,
                     f"{cfg} {mem} keys={keys}")

        check_prometheus(report, f"http://127.0.0.1:{prom_port}", lb, ips)

        if keep:
            say("--keep: `podman-compose stop` (SIGTERM to both replicas) not checked")
            return
        # compose stop: SIGTERM to both replicas; each drains and exits 0 within stop_grace_period.
        t_stop = time.monotonic()
        run_compose("stop", "-t", str(STOP_TIMEOUT_S), timeout=STOP_TIMEOUT_S * 3 + 60)
        report.time("stack_stop", time.monotonic() - t_stop)
        states = {n: podman.inspect("container", n)["State"] for n in apis}
        report.equal("stack: `podman-compose stop` ends both replicas with exit code 0",
                     {n: (st.get("Status"), st.get("ExitCode")) for n, st in states.items()},
                     dict.fromkeys(apis, ("exited", 0)))
    except Exception:
        if up_done:
            for n in podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PREFIX}", "--format",
                            "{{.Names}}", quiet=True, check=False).stdout.split():
                say(f"--- logs of {n} (tail)\n" + podman("logs", "--tail", "30", n, check=False, quiet=True).stdout
                    + podman("logs", "--tail", "30", n, check=False, quiet=True).stderr)
        raise
    finally:
        if keep and up_done:
            say(f"--keep: the stack stays up (lb http://127.0.0.1:{lb_port}, prometheus http://127.0.0.1:{prom_port}); "
                "remove it with: .venv/bin/python deploy/podman_stack.py --down")
        else:
            down()


def stack_down(podman: Podman, compose: list[str] | None = None, env: dict[str, str] | None = None) -> None:
    """`podman-compose down -v`, then whatever it did not know about (a replica added by hand with --scale, an
    earlier run's), the project's network and volume."""
    compose = compose or podman_compose(podman)
    env = env or {**podman.env, "SKETCHQ_PODMAN_NGINX_CONF": str(CACHE / "nginx.conf")}
    subprocess.run([*compose, "down", "-v", "-t", "5"], env=env, cwd=REPO, capture_output=True, timeout=300)
    left = podman("ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={PREFIX}", quiet=True).stdout
    if left.split():
        podman("rm", "-f", "-t", "0", *left.split(), check=False, quiet=True)
    podman("network", "rm", "-f", f"{PREFIX}_default", check=False, quiet=True)
    podman("volume", "rm", "-f", f"{PREFIX}_prometheus-data", check=False, quiet=True)


def _container_ip(podman: Podman, name: str) -> str:
    nets = podman.inspect("container", name)["NetworkSettings"]["Networks"]
    (net,) = nets.values()
    return net["IPAddress"]


def _score_requests(url: str) -> float:
    text = http().get(f"{url}/metrics", timeout=5).text
    return metric(text, "sketchq_http_request_duration_seconds_count", endpoint="/score")
