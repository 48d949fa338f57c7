"""The API image run as a container: answers, baked-in read-only models, uid, HEALTHCHECK, SIGTERM."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from .http_probes import call, free_port, http, ready, wait_until
from .podman_cli import Podman
from .reference import example_sketches, requests_to_compare, unique_sketch
from .report import CheckFailed, Report, diff_json, say
from .settings import API_IMAGE, PREFIX, READY_BOUND_S, REPO, SHUTDOWN_GRACE_S, STOP_TIMEOUT_S, UID


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

        native = podman("exec", name, "python", "-c", "import sketchprep.native as n; print(n.AVAILABLE)",
                        check=False, quiet=True)
        report.equal("API container: the compiled preprocessing kernel is built in and loads (sketchprep.native)",
                     native.stdout.strip(), "True")

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
