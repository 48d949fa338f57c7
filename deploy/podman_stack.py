"""Build the images of docker/Dockerfile and run them for real, with podman: the CPU API image, the training
image, and the compose stack (two API replicas behind the nginx load balancer, the shared Redis, Prometheus).

    .venv/bin/python deploy/podman_stack.py                  # everything (cold: about 10 min on 2 cores)
    .venv/bin/python deploy/podman_stack.py --skip-train     # API image and stack only
    .venv/bin/python deploy/podman_stack.py --keep           # leave the stack running afterwards
    .venv/bin/python deploy/podman_stack.py --install-tools  # apt-get install podman runc debootstrap first (root)

Registry images (python, redis, nginx, prom/prometheus, nvidia/cuda) cannot be pulled where this runs, so
stand-ins are made from Debian's packages (docker/base/*.Containerfile) on a bookworm made with debootstrap;
docker/Dockerfile and docker-compose.yml keep the real images as their defaults and receive the stand-ins
as build arguments and through docker-compose.podman.yml. Grafana has no Debian package and is not run (its
dashboard is checked as files by tests/deploy, and its queries here against the real Prometheus). The GPU
image needs the CUDA base and a GPU: it is not built; its lock is checked for Python 3.12 (deploy/lockcheck.py).

What it asserts (docs/deployment.md, "What runs in CI"): the locks hold; the images build (`pip check` inside);
the API container is ready within READY_BOUND_S, answers /score, /attribute, /enhance and /v1/model exactly
as `python -m service` on the same models does, has the models baked in (same bytes) and read-only, runs as
uid 10001, passes its HEALTHCHECK, and on SIGTERM fails readiness, still answers, drains and exits 0 within
the grace period; the training image runs `sketchq-train` as non-root and exports the shipped checkpoint to
the very bytes of models/gacl/model.onnx; in the stack both replicas are ready, a sketch cached through
one replica is a hit on the other, the load balancer spreads requests over both and answers like the local
service, Redis runs with its LRU bound, Prometheus reports both replicas up and evaluates every dashboard
query, and `compose stop` ends both replicas with exit code 0.

Exit status: 0 when every check passed, or when podman cannot run containers here at all (the reason is
printed on a line starting with SKIPPED; --require turns that into a failure); 1 on any failed check.
Image sizes, build and start-up times go to the JSON report (--report, default runs/podman-stack/report.json).
Caches (the debootstrap base, podman's layer cache, the podman-compose virtualenv) live outside the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "deploy"), str(REPO / "deploy")]

CACHE = Path(os.environ.get("SKETCHQ_PODMAN_CACHE",
                            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sketchq" / "podman"))
PREFIX = "sketchq-podman-check"  # names of the containers, the compose project and the network it makes

DEBIAN = "localhost/sketchq-debian:bookworm"
BASES = {  # stand-in image -> its recipe in docker/base
    "python": ("localhost/sketchq-python:3.11-bookworm", "python.Containerfile"),
    "redis": ("localhost/sketchq-redis:7.0-bookworm", "redis.Containerfile"),
    "nginx": ("localhost/sketchq-nginx:1.22-bookworm", "nginx.Containerfile"),
    "prometheus": ("localhost/sketchq-prometheus:2.42-bookworm", "prometheus.Containerfile"),
}
API_IMAGE = "localhost/sketchq-api:0.1.0-cpu"  # the name docker-compose.cpu.yml gives it
TRAIN_IMAGE = "localhost/sketchq-train:0.1.0-cuda"  # the name docker-compose.yml gives it
GPU_STANDIN_IMAGE = "localhost/sketchq-api:0.1.0-cuda-standin"  # the GPU image's steps on the Debian Python base
DEBIAN_MIRROR = os.environ.get("SKETCHQ_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PODMAN_COMPOSE = ["podman-compose==1.6.0", "python-dotenv==1.2.2", "pyyaml==6.0.3"]

READY_BOUND_S = 60.0  # the image's HEALTHCHECK start period; Kubernetes' startup probe allows 120 s
STOP_TIMEOUT_S = 45  # compose stop_grace_period and Kubernetes terminationGracePeriodSeconds
SHUTDOWN_GRACE_S = 5.0  # the service's default SKETCHQ_SHUTDOWN_GRACE_S (the image does not change it)
UID = "10001"


class Skip(Exception):
    """Podman cannot run containers here at all: not a defect of the project."""


class CheckFailed(Exception):
    pass


# --- output and the report -------------------------------------------------------------------------------
T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


class Report:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {"checks": [], "timings_s": {}, "images": {}, "host": {
            "machine": platform.machine(), "cpus": os.cpu_count(), "kernel": platform.release()}}

    def check(self, name: str, ok: bool, detail: Any = "") -> None:
        self.data["checks"].append({"check": name, "ok": bool(ok), "detail": detail})
        say(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail != "" else ""))
        if not ok:
            raise CheckFailed(f"{name}: {detail}")

    def equal(self, name: str, got: Any, want: Any) -> None:
        if got == want:
            self.check(name, True)
        else:
            self.check(name, False, f"got {_short(got)}, expected {_short(want)}")

    def time(self, name: str, seconds: float) -> None:
        self.data["timings_s"][name] = round(seconds, 2)
        say(f"time {name}: {seconds:.1f} s")

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        t = time.monotonic()
        yield
        self.time(name, time.monotonic() - t)


def _short(value: Any, n: int = 300) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= n else text[:n] + "..."


def diff_json(a: Any, b: Any, path: str = "$") -> str | None:
    """First place two JSON values differ (None: equal)."""
    if type(a) is not type(b):
        return f"{path}: {_short(a, 80)} vs {_short(b, 80)}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only on one side"
            d = diff_json(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = diff_json(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


# --- podman ----------------------------------------------------------------------------------------------
class Podman:
    """podman with runc and explicit ulimits (crun, and podman's default RLIMIT_NOFILE of 1048576, fail on
    this kind of machine), through a containers.conf of our own so that podman-compose gets them too."""

    def __init__(self, runtime: str) -> None:
        self.runtime = runtime
        CACHE.mkdir(parents=True, exist_ok=True)
        conf = CACHE / "containers.conf"
        # Modest values at or below the host's hard limits (on this kind of machine setting RLIMIT_NPROC to 65536
        # is refused even below the hard limit; nginx's 4096 worker connections need more than 4096 files).
        nofile = min(_hard_limit("RLIMIT_NOFILE"), 16384)
        nproc = min(_hard_limit("RLIMIT_NPROC"), 4096)
        conf.write_text(f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
                        f'[engine]\nruntime = "{runtime}"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.ulimits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]

    def __call__(self, *args: str, check: bool = True, timeout: float = 600, quiet: bool = False,
                 log: Path | None = None) -> subprocess.CompletedProcess[str]:
        cmd = ["podman", "--runtime", self.runtime, *args]
        if not quiet:
            say("$ " + " ".join(cmd))
        if log is not None:
            with log.open("w") as f:
                p = subprocess.run(cmd, env=self.env, stdout=f, stderr=subprocess.STDOUT, text=True, timeout=timeout)
            p.stdout = log.read_text()
        else:
            p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            tail = "\n".join((p.stdout + (p.stderr or "")).splitlines()[-40:])
            raise CheckFailed(f"`{' '.join(cmd)}` exited with {p.returncode}:\n{tail}")
        return p

    def image_exists(self, name: str) -> bool:
        return self("image", "exists", name, check=False, quiet=True).returncode == 0

    def inspect(self, what: str, name: str) -> dict[str, Any]:
        return json.loads(self(what, "inspect", name, quiet=True).stdout)[0]


def _hard_limit(name: str) -> int:
    import resource

    hard = resource.getrlimit(getattr(resource, name))[1]
    return 65536 if hard == resource.RLIM_INFINITY else hard


def preflight(install: bool) -> Podman:
    if sys.platform != "linux":
        raise Skip(f"podman containers need Linux (this is {sys.platform})")
    if os.geteuid() != 0:
        raise Skip("needs root (debootstrap and rootful podman); run it with sudo")
    missing = [t for t in ("podman", "runc", "debootstrap") if not shutil.which(t)]
    if missing and install:
        say(f"installing podman runc debootstrap (Debian packages; missing: {' '.join(missing)})")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        ok = subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0 and subprocess.run(
            ["apt-get", "install", "-y", "-qq", "podman", "runc", "debootstrap"], env=env,
            stdout=subprocess.DEVNULL).returncode == 0
        if not ok:
            raise Skip("apt-get could not install podman, runc and debootstrap")
        missing = [t for t in ("podman", "runc", "debootstrap") if not shutil.which(t)]
    if missing:
        raise Skip(f"{', '.join(missing)} not installed (apt-get install podman runc debootstrap, or --install-tools)")
    podman = Podman(shutil.which("runc") or "runc")
    info = podman("info", "--format", "json", check=False, quiet=True)
    if info.returncode != 0:
        raise Skip(f"`podman info` fails: {info.stderr.strip()[-300:]}")
    return podman


# --- stand-in base images --------------------------------------------------------------------------------
def make_bases(podman: Podman, report: Report) -> None:
    if not podman.image_exists(DEBIAN):
        with report.timed("debootstrap_base"), tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            root = Path(tmp) / "rootfs"
            say(f"debootstrap --variant=minbase bookworm (cached afterwards as {DEBIAN})")
            p = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(root), DEBIAN_MIRROR],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise CheckFailed(f"debootstrap failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
            (root / "etc/apt/sources.list").write_text(
                "deb http://deb.debian.org/debian bookworm main\n"
                "deb http://deb.debian.org/debian bookworm-updates main\n"
                "deb http://deb.debian.org/debian-security bookworm-security main\n")
            for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
                for f in (root / junk).glob("*"):
                    if f.is_file():
                        f.unlink()
            tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            imp = subprocess.run(["podman", "--runtime", podman.runtime, "import", "-q", "--change", 'CMD ["bash"]',
                                  "-", DEBIAN], stdin=tar.stdout, env=podman.env, capture_output=True, text=True)
            tar.wait()
            if imp.returncode != 0 or tar.returncode != 0:
                raise CheckFailed(f"podman import failed: {imp.stderr}")
    # Can runc start a container here at all? If not, nothing below can run: skip, not fail.
    p = podman("run", "--rm", "--network", "none", DEBIAN, "true", check=False, quiet=True)
    if p.returncode != 0:
        raise Skip(f"podman/runc cannot start a container here: {p.stderr.strip()[-400:]}")
    ctx = CACHE / "base-context"
    shutil.rmtree(ctx, ignore_errors=True)
    shutil.copytree(REPO / "docker" / "base", ctx)
    (ctx / "extra-ca").mkdir()
    (ctx / "extra-ca" / "README").write_text("the build host's /usr/local/share/ca-certificates\n")
    for crt in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
        shutil.copy(crt, ctx / "extra-ca" / crt.name)
    for key, (tag, recipe) in BASES.items():
        with report.timed(f"build_base_{key}"):
            podman("build", "--network", "host", *podman.ulimits, "--format", "docker", "--build-arg",
                   f"DEBIAN_IMAGE={DEBIAN}", "-f", str(ctx / recipe), "-t", tag, str(ctx),
                   log=CACHE / f"build-{key}.log")


# --- building the project's images -----------------------------------------------------------------------
def build(podman: Podman, report: Report, name: str, tag: str, args: list[str], no_cache: bool) -> None:
    log = CACHE / f"build-{name}.log"
    with report.timed(f"build_{name}"):
        podman("build", "--network", "host", *podman.ulimits, "--format", "docker", *(["--no-cache"] * no_cache),
               "-f", "docker/Dockerfile", *args, "-t", tag, str(REPO), log=log, timeout=1800)
    text = log.read_text()
    # The build failed otherwise (the RUN steps end in `pip check`); with podman's layer cache it ran earlier.
    ran = "No broken requirements found." in text
    report.check(f"{name} image builds, `pip check` passing inside", ran or "Using cache" in text,
                 "ran in this build" if ran else "cached layers of an earlier build (--no-cache runs it again)")
    report.data["images"].setdefault(tag, {})["built_from_cache"] = not ran
    size = podman.inspect("image", tag)["Size"]
    report.data["images"][tag].update({"size_bytes": size, "size_mb": round(size / 1e6, 1)})
    say(f"{tag}: {size / 1e6:.1f} MB")


# --- HTTP helpers ----------------------------------------------------------------------------------------
def http() -> Any:
    import httpx

    return httpx


def wait_until(what: str, probe: Callable[[], bool], timeout: float, interval: float = 0.1) -> float:
    t = time.monotonic()
    while True:
        try:
            if probe():
                return time.monotonic() - t
        except Exception:  # noqa: BLE001 (not up yet)
            pass
        if time.monotonic() - t > timeout:
            raise CheckFailed(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def ready(url: str) -> bool:
    return http().get(f"{url}/readyz", timeout=2).status_code == 200


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            m = re.match(r"([^{ ]+)(?:\{([^}]*)\})? (\S+)", line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
    return total


def example_sketches(group: str = "middle", n_per_class: int = 2) -> list[dict[str, Any]]:
    """Real validation drawings (service/static/examples.json) of one group (bottom, middle or top by q), labelled."""
    data = json.loads((REPO / "service" / "static" / "examples.json").read_text())
    out = []
    for category, entry in data["categories"].items():
        for ex in entry["groups"][group][:n_per_class]:
            out.append({"strokes": ex["strokes"], "label": category})
    return out


def requests_to_compare() -> list[tuple[str, str, dict[str, Any] | None]]:
    """What the container (and the load balancer) must answer exactly like `python -m service`: each request
    on sketches no earlier one sent, so that every answer is computed (a cache hit would say `cached`)."""
    batch, top, bottom = example_sketches("middle"), example_sketches("top", 1), example_sketches("bottom", 1)
    return [
        ("GET", "/v1/model", None),
        ("POST", "/score", {"sketches": batch, "top_k": 5}),
        ("POST", "/score", {"sketches": [{"strokes": bottom[0]["strokes"]}]}),
        ("POST", "/attribute", {"sketch": bottom[3]}),
        ("POST", "/enhance", {"sketch": top[0], "seed": 7}),
        ("POST", "/enhance", {"sketch": top[10], "seed": 3, "steps": 5, "population": 8, "alpha": 0.3}),
    ]


def call(url: str, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    r = http().request(method, f"{url}{path}", json=body, timeout=120)
    return r.status_code, r.json()


def unique_sketch() -> dict[str, Any]:
    """A drawing no cache has seen (random points): a miss the first time, whatever ran before."""
    rng = random.Random()
    xs = [rng.randrange(256) for _ in range(12)]
    ys = [rng.randrange(256) for _ in range(12)]
    return {"strokes": [[xs[:6], ys[:6]], [xs[6:], ys[6:]]]}


# --- the API container -----------------------------------------------------------------------------------
def free_port() -> int:
    from server_proc import free_port as fp

    return fp()


def check_api_container(podman: Podman, report: Report, local: dict[str, tuple[int, Any]]) -> None:
    name = f"{PREFIX}-api"
    podman("rm", "-f", "-t", "0", name, check=False, quiet=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inspected = podman.inspect("image", API_IMAGE)
    image = inspected["Config"]
    report.equal("API image: USER is the non-root uid 10001", image.get("User"), f"{UID}:{UID}")
    hc = inspected.get("Healthcheck") or image.get("Healthcheck") or {}  # podman lists it beside Config
    report.check("API image: HEALTHCHECK probes /healthz", "/healthz" in " ".join(hc.get("Test", [])), hc)
    report.equal("API image: STOPSIGNAL", image.get("StopSignal"), "SIGTERM")

    # As compose runs it: read-only root filesystem, /tmp a tmpfs, no model mounted (the baked-in ones).
    t_start = time.monotonic()
    podman("run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp", "-p", f"127.0.0.1:{port}:8000",
           "--stop-timeout", str(STOP_TIMEOUT_S), API_IMAGE)
    try:
        try:
            wait_until("API container /readyz", lambda: ready(url), READY_BOUND_S + 30)
        except CheckFailed:
            say(podman("logs", name, check=False).stdout[-3000:])
            raise
        startup = time.monotonic() - t_start
        report.time("api_container_start_to_ready", startup)
        report.check(f"API container ready within {READY_BOUND_S:.0f} s", startup < READY_BOUND_S, f"{startup:.1f} s")
        readyz = http().get(f"{url}/readyz", timeout=5).json()
        report.equal("API container runs on the CPU provider", (readyz["device"], readyz["providers"]),
                     ("cpu", ["CPUExecutionProvider"]))

        # Same answers as `python -m service` on the same models (the container's cache is cold: first answers).
        for (method, path, body), (status, want) in zip(requests_to_compare(), local.values(), strict=True):
            got_status, got = call(url, method, path, body)
            d = diff_json(got, want)
            report.check(f"API container {method} {path} answers exactly like python -m service "
                         f"({_describe(body)})", got_status == status == 200 and d is None,
                         d or (f"status {got_status}" if got_status != 200 else ""))
        status, again = call(url, "POST", "/score", requests_to_compare()[1][2])
        first = local[("POST", "/score", 1)][1]
        report.check("API container: the repeated /score is a cache hit with the same answer",
                     status == 200 and all(r["cached"] for r in again["results"])
                     and diff_json([{**r, "cached": False} for r in again["results"]], first["results"]) is None)

        # The models are the repository's, baked in (not mounted), and read-only.
        mounts = [m.get("Destination") for m in podman.inspect("container", name).get("Mounts", [])]
        report.check("API container: no volume mounted over /app (the models are baked in)",
                     not any(str(d).startswith("/app") for d in mounts), mounts)
        files = sorted(p for d in ("models/gacl", "models/sketchrnn") for p in (REPO / d).rglob("*") if p.is_file())
        out = podman("exec", name, "sha256sum", *[f"/app/{p.relative_to(REPO)}" for p in files], quiet=True).stdout
        inside = {line.split()[1]: line.split()[0] for line in out.splitlines()}
        want = {f"/app/{p.relative_to(REPO)}": hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
        report.equal(f"API container: the {len(files)} model files are the repository's bytes", inside, want)
        targets = ["/app/models/gacl/model.onnx", "/app/models/sketchrnn/decoder.onnx", "/app/models/gacl/new",
                   "/app/new", "/app/service/main.py", "/opt/venv/new", "/tmp/new"]
        probe = ("import errno, sys\n"
                 "for p in sys.argv[1:]:\n"
                 "    try:\n"
                 "        open(p, 'ab').close(); print(p, 'written')\n"
                 "    except OSError as e:\n"
                 "        print(p, errno.errorcode[e.errno])\n")
        ro = dict(line.split() for line in podman("exec", name, "python", "-c", probe, *targets, quiet=True
                                                  ).stdout.splitlines())
        report.check("API container (read-only root, as compose runs it): models, code and venv cannot be "
                     "written, /tmp (tmpfs) can", ro.pop("/tmp/new") == "written"
                     and set(ro.values()) <= {"EROFS", "EACCES"} and len(ro) == len(targets) - 1, ro)
        # ... and not only because of --read-only: the image's own permissions keep uid 10001 out.
        perms = dict(line.split() for line in podman("run", "--rm", API_IMAGE, "python", "-c", probe, *targets,
                                                     quiet=True).stdout.splitlines())
        report.check("API image (without --read-only): uid 10001 cannot write the models, the code or the venv",
                     perms.pop("/tmp/new") == "written" and set(perms.values()) == {"EACCES"}
                     and len(perms) == len(targets) - 1, perms)

        status_line = podman("exec", name, "grep", "-E", "^(Uid|Gid):", "/proc/1/status", quiet=True).stdout
        ids = {tuple(line.split()[1:]) for line in status_line.splitlines()}
        report.equal("API container: the service (PID 1) runs as uid/gid 10001", ids, {(UID,) * 4})
        cmdline = podman("exec", name, "cat", "/proc/1/cmdline", quiet=True).stdout.replace("\0", " ").strip()
        report.equal("API container: PID 1 is `python -m service` (gets SIGTERM itself)", cmdline, "python -m service")

        hc_run = podman("healthcheck", "run", name, check=False, quiet=True)
        report.check("API container: the image's HEALTHCHECK command succeeds", hc_run.returncode == 0,
                     (hc_run.stdout + hc_run.stderr).strip()[-200:])

        sigterm(podman, report, name, url)
    finally:
        podman("rm", "-f", "-t", "0", name, check=False, quiet=True)


def _describe(body: dict[str, Any] | None) -> str:
    if body is None:
        return "no body"
    if "sketches" in body:
        return f"{len(body['sketches'])} sketches"
    return ", ".join(f"{k}={v}" for k, v in body.items() if k != "sketch") or "defaults"


def sigterm(podman: Podman, report: Report, name: str, url: str) -> None:
    """`podman stop` (SIGTERM) while a slow request is in flight: readiness fails at once, requests are still
    answered during the grace period, the in-flight one completes, the process exits 0 well before the kill."""
    httpx = http()
    results: dict[str, Any] = {}
    sketch = example_sketches("top", 1)[5]

    def slow() -> None:  # about 1-3 s of work on this CPU
        t = time.monotonic()
        r = httpx.post(f"{url}/enhance", json={"sketch": sketch, "steps": 40, "population": 32, "seed": 1},
                       timeout=60)
        results["inflight"] = (r.status_code, time.monotonic() - t)

    inflight = threading.Thread(target=slow)
    inflight.start()
    time.sleep(0.3)
    stopper_done: dict[str, float] = {}
    t_sig = time.monotonic()

    def stop() -> None:
        podman("stop", "-t", str(STOP_TIMEOUT_S), name, check=False, quiet=True)
        stopper_done["t"] = time.monotonic() - t_sig

    stopper = threading.Thread(target=stop)
    stopper.start()
    unready_at = None
    served_during_grace = None
    while stopper.is_alive() and time.monotonic() - t_sig < SHUTDOWN_GRACE_S - 0.5:
        try:
            r = httpx.get(f"{url}/readyz", timeout=1)
            if r.status_code == 503 and unready_at is None:
                unready_at = time.monotonic() - t_sig
                s = httpx.post(f"{url}/score", json={"sketches": [unique_sketch()]}, timeout=5)
                served_during_grace = (s.status_code, time.monotonic() - t_sig)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    stopper.join(STOP_TIMEOUT_S + 15)
    inflight.join(60)
    state = podman.inspect("container", name)["State"]
    logs = podman("logs", name, check=False, quiet=True).stdout + podman("logs", name, check=False, quiet=True).stderr
    # the bound is the first half of the grace period (load balancers need the rest to stop routing here);
    # the time measured includes starting the `podman stop` process, which took over 1 s on a loaded machine
    report.check(f"SIGTERM: /readyz answers 503 within half the grace period ({SHUTDOWN_GRACE_S / 2:.1f} s)",
                 unready_at is not None and unready_at < SHUTDOWN_GRACE_S / 2, f"{unready_at}")
    report.check("SIGTERM: a request during the grace period is still answered (200)",
                 served_during_grace is not None and served_during_grace[0] == 200, served_during_grace)
    report.check("SIGTERM: the request in flight completes (200)", results.get("inflight", (0,))[0] == 200,
                 results.get("inflight"))
    elapsed = stopper_done.get("t", float("inf"))
    report.time("api_container_sigterm_to_exit", elapsed)
    report.check(f"SIGTERM: the container exits 0 by itself within the {STOP_TIMEOUT_S} s grace period "
                 f"(not killed)", state.get("ExitCode") == 0 and not state.get("OOMKilled")
                 and elapsed < STOP_TIMEOUT_S, f"exit code {state.get('ExitCode')} after {elapsed:.1f} s")
    order = [logs.find(s) for s in ("SIGTERM: failing readiness", "draining", "Application shutdown complete")]
    report.check("SIGTERM: the log shows readiness failed, then the drain, then the shutdown",
                 -1 not in order and order == sorted(order), order)


# --- the training image ----------------------------------------------------------------------------------
def check_train_image(podman: Podman, report: Report) -> None:
    cfg = podman.inspect("image", TRAIN_IMAGE)["Config"]
    report.equal("training image: USER is the non-root uid 10001", cfg.get("User"), f"{UID}:{UID}")
    report.equal("training image: entry point sketchq-train", cfg.get("Entrypoint"), ["sketchq-train"])
    p = podman("run", "--rm", TRAIN_IMAGE, check=False, quiet=True)
    report.check("training image: `sketchq-train --help` runs", p.returncode == 0 and "usage" in p.stdout.lower(),
                 p.stdout[-200:] + p.stderr[-300:])
    p = podman("run", "--rm", "--entrypoint", "python", TRAIN_IMAGE, "-c",
               "import os, torch, onnxruntime, training.cli; "
               "print(torch.__version__, torch.version.cuda, onnxruntime.__version__, os.getuid())", quiet=True)
    report.equal("training image: torch 2.13.0 (CUDA 13.0 build), onnxruntime, the training code, uid 10001",
                 p.stdout.split(), ["2.13.0+cu130", "13.0", "1.32.0", UID])
    # A real job without training: export the shipped scorer's checkpoint to ONNX, as models/gacl was made.
    with tempfile.TemporaryDirectory(dir=CACHE) as runs:
        os.chmod(runs, 0o777)  # noqa: S103 (the container's uid 10001 writes here)
        with report.timed("train_image_export"):
            p = podman("run", "--rm", "-v", f"{REPO / 'checkpoints' / 'gacl'}:/ckpt:ro", "-v", f"{runs}:/runs",
                       TRAIN_IMAGE, "export", "/ckpt/model.pt", "--out", "/runs/gacl", "--name", "gacl",
                       check=False, timeout=600)
        onnx = Path(runs) / "gacl" / "model.onnx"
        got = hashlib.sha256(onnx.read_bytes()).hexdigest() if onnx.exists() else p.stdout[-300:] + p.stderr[-500:]
        want = hashlib.sha256((REPO / "models" / "gacl" / "model.onnx").read_bytes()).hexdigest()
        report.equal("training image: exporting checkpoints/gacl gives the bytes of models/gacl/model.onnx",
                     got, want)


# --- the GPU image, on a stand-in for its CUDA base ------------------------------------------------------
def check_gpu_standin(podman: Podman, report: Report) -> None:
    """The GPU variant's build steps (apt python3, the lock with onnxruntime-gpu, `pip check`, the non-root
    user, SKETCHQ_DEVICE=cuda) on the Debian Python base instead of nvidia/cuda (which cannot be pulled here):
    not the GPU image, but proof its Dockerfile stages work; and without CUDA it must refuse to start, not
    fall back to the CPU."""
    env = dict(e.split("=", 1) for e in podman.inspect("image", GPU_STANDIN_IMAGE)["Config"].get("Env", []))
    report.equal("GPU image (stand-in base): SKETCHQ_DEVICE is cuda", env.get("SKETCHQ_DEVICE"), "cuda")
    p = podman("run", "--rm", GPU_STANDIN_IMAGE, "python", "-c",
               "import importlib.metadata as m, onnxruntime as ort\n"
               "names = {d.metadata['Name'].lower() for d in m.distributions()}\n"
               "print(m.version('onnxruntime-gpu'), 'onnxruntime' in names, 'CUDAExecutionProvider' in "
               "ort.get_available_providers())", quiet=True)
    report.equal("GPU image (stand-in base): onnxruntime-gpu 1.31.1 alone, with its CUDA provider",
                 p.stdout.split(), ["1.31.1", "False", "True"])
    t = time.monotonic()
    p = podman("run", "--rm", "--read-only", "--tmpfs", "/tmp", GPU_STANDIN_IMAGE, check=False, quiet=True,
               timeout=120)
    out = p.stdout + p.stderr
    report.check("GPU image without CUDA: refuses to start (no silent CPU fallback)",
                 p.returncode != 0 and "fell back to the CPU" in out and "Application startup complete" not in out,
                 f"exit {p.returncode} after {time.monotonic() - t:.1f} s: "
                 + next((ln.strip() for ln in out.splitlines() if "ModelLoadError" in ln), out[-200:]))


# --- the compose stack -----------------------------------------------------------------------------------
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


def check_prometheus(report: Report, prom: str, lb: str, ips: dict[str, str]) -> None:
    httpx = http()

    def targets_up() -> bool:
        data = httpx.get(f"{prom}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        api = [t for t in data if t["labels"].get("job") == "sketchq-api"]
        return sorted(t["labels"]["instance"] for t in api if t["health"] == "up") == \
            sorted(f"{ip}:8000" for ip in ips.values())

    try:
        waited = wait_until("Prometheus: both replicas up", targets_up, 90, interval=1)
    except CheckFailed:
        waited = None
    data = httpx.get(f"{prom}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    seen = {t["labels"]["instance"]: t["health"] for t in data if t["labels"].get("job") == "sketchq-api"}
    report.check("stack: Prometheus' targets API reports both replicas (found by DNS) up", waited is not None, seen)
    # Every query of the Grafana dashboard, as Grafana would send it, parsed and evaluated by Prometheus; each
    # must return data (a 4xx first, for the errors panel; two more scrapes, so that rate() has points).
    bad = httpx.post(f"{lb}/score", json={"sketches": []}, timeout=10)
    report.equal("stack: an invalid request through the load balancer gets the service's 422", bad.status_code, 422)
    time.sleep(11)
    dashboard = json.loads((REPO / "docker" / "grafana" / "dashboards" / "sketchq.json").read_text())
    from deploy_support import grafana_queries

    empty = []
    queries = grafana_queries(dashboard)
    for title, expr in queries:
        q = expr.replace("$__rate_interval", "1m").replace('"$instance"', '".*"')
        r = httpx.get(f"{prom}/api/v1/query", params={"query": q}, timeout=10).json()
        if r.get("status") != "success":
            report.check(f"stack: Prometheus evaluates the dashboard query of {title!r}", False, r)
        if not r["data"]["result"]:
            empty.append(title)
    report.check(f"stack: Prometheus evaluates all {len(queries)} dashboard queries, each with data",
                 not empty, f"no data: {sorted(set(empty))}" if empty else "")
    ready_sum = httpx.get(f"{prom}/api/v1/query", params={"query": "sum(sketchq_ready)"}, timeout=10).json()
    value = float(ready_sum["data"]["result"][0]["value"][1]) if ready_sum["data"]["result"] else 0.0
    report.equal("stack: the dashboard's 'Ready replicas' (sum(sketchq_ready)) is 2", value, 2.0)


# --- the local reference ---------------------------------------------------------------------------------
def local_answers(report: Report) -> dict[tuple[str, str, int], tuple[int, Any]]:
    """The answers of `python -m service` (this checkout, the same models, cache off) to the compared requests."""
    from server_proc import ServerProc

    # The containers run with OpenBLAS' own choice of kernel for this CPU; a host that forces one
    # (OPENBLAS_CORETYPE=Haswell here, where the container detects SkylakeX) would give /attribute's score, a
    # 6-term np.dot, other last bits (15.421240908108794 vs ...796). The reference runs as the container does.
    overrides = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("OPENBLAS_")}
    report.data["local_reference_env_removed"] = overrides
    try:
        srv = ServerProc(model_dir=REPO / "models" / "gacl", enhance_model_dir=REPO / "models" / "sketchrnn",
                         cache="off")
    finally:
        os.environ.update(overrides)
    try:
        out = {}
        for i, (method, path, body) in enumerate(requests_to_compare()):
            status, answer = call(srv.url, method, path, body)
            if status != 200:
                raise CheckFailed(f"local service: {method} {path} -> {status} {answer}")
            out[(method, path, i)] = (status, answer)
        return out
    finally:
        srv.stop()


# --- main ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install-tools", action="store_true", help="apt-get install podman runc debootstrap if missing")
    ap.add_argument("--require", action="store_true", help="fail (exit 1) instead of skipping where podman cannot run")
    ap.add_argument("--skip-train", action="store_true", help="do not build and check the training image")
    ap.add_argument("--skip-gpu-standin", action="store_true",
                    help="do not build the GPU variant on the stand-in base")
    ap.add_argument("--skip-stack", action="store_true", help="do not bring the compose stack up")
    ap.add_argument("--no-cache", action="store_true", help="build the project's images without podman's layer cache")
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    ap.add_argument("--down", action="store_true", help="only stop and remove a stack left by --keep")
    ap.add_argument("--report", type=Path, default=REPO / "runs" / "podman-stack" / "report.json")
    args = ap.parse_args(argv)
    os.chdir(REPO)
    report = Report()
    report.data["command"] = "deploy/podman_stack.py " + " ".join(argv if argv is not None else sys.argv[1:])
    status = 0
    try:
        with report.timed("preflight_and_install_tools"):
            podman = preflight(args.install_tools)
        if args.down:
            stack_down(podman)
            say("stack removed")
            return 0
        report.data["podman"] = podman("--version", quiet=True).stdout.strip()
        import lockcheck

        problems = lockcheck.check()
        report.check(f"locks hold for Python {lockcheck.PYTHONS[0]}..{lockcheck.PYTHONS[-1]} "
                     "(CPU, GPU and training images)", not problems, problems)
        make_bases(podman, report)
        for tag in (DEBIAN, *(t for t, _ in BASES.values())):
            report.data["images"][tag] = {"size_mb": round(podman.inspect("image", tag)["Size"] / 1e6, 1)}
        python_base = BASES["python"][0]
        build(podman, report, "api", API_IMAGE, ["--build-arg", "VARIANT=cpu", "--build-arg",
                                                 f"PYTHON_IMAGE={python_base}", "--target", "api"], args.no_cache)
        with report.timed("local_reference_answers"):
            local = local_answers(report)
        with report.timed("check_api_container"):
            check_api_container(podman, report, local)
        if not args.skip_gpu_standin:
            build(podman, report, "gpu_standin", GPU_STANDIN_IMAGE, ["--build-arg", "VARIANT=gpu", "--build-arg",
                                                                    f"CUDA_IMAGE={python_base}", "--target", "api"],
                  args.no_cache)
            check_gpu_standin(podman, report)
        if not args.skip_train:
            build(podman, report, "train", TRAIN_IMAGE, ["--build-arg", f"PYTHON_IMAGE={python_base}",
                                                         "--target", "train"], args.no_cache)
            with report.timed("check_train_image"):
                check_train_image(podman, report)
        if not args.skip_stack:
            with report.timed("check_stack"):
                check_stack(podman, report, local, args.keep)
    except Skip as e:
        say(f"SKIPPED: the podman checks cannot run on this machine: {e}")
        report.data["skipped"] = str(e)
        status = 1 if args.require else 0
    except CheckFailed as e:
        say(f"FAILED: {e}")
        report.data["failed"] = str(e)
        status = 1
    except Exception as e:  # noqa: BLE001 (a crash is a failure too, with its traceback)
        traceback.print_exc()
        report.data["failed"] = repr(e)
        status = 1
    report.time("total", time.monotonic() - T0)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report.data, indent=1) + "\n")
    n_ok = sum(c["ok"] for c in report.data["checks"])
    say(f"{n_ok} checks passed, {len(report.data['checks']) - n_ok} failed; report: {args.report}")
    return status


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
