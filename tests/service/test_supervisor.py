"""Several service processes on one port (service.supervisor, SKETCHQ_WORKERS > 1): real `python -m service`
processes, real connections, real signals.

Which process answered is read from the answer's x-request-id: its first 16 hex digits are a random
per-process prefix (service.transport.envelope)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_proc import REPO, ServerProc, free_port, metric, metrics_text, wait_until

from service.supervisor import STARTUP_FAILURE, bind_sockets

pytestmark = pytest.mark.slow



def sketch(i: int) -> dict[str, Any]:
    """A different sketch for each i (so no answer comes from a cache)."""
    return {"strokes": [[[0, 40, 80, 120, 160], [0, 60, 20, 90, 30 + i]], [[10, 100], [150, 150]]]}

WORKERS = {"workers": 2, "engine_workers": 1}
GRACE_S = 1.0  # the drain test's shutdown grace period


def worker_pids(server: ServerProc) -> dict[int, int]:
    """worker index -> pid of its latest process, from the supervisor's log."""
    return {int(i): int(pid) for i, pid in re.findall(r"worker (\d+) started \(pid (\d+)\)", server.log())}


def answered_by(url: str, connections: int) -> list[str]:
    """POST /score once on each of `connections` new connections; the answering processes' id prefixes."""
    prefixes = []
    for i in range(connections):
        r = httpx.post(f"{url}/score", json={"sketches": [sketch(i)]}, timeout=30)  # a new connection each time
        assert r.status_code == 200, r.text
        prefixes.append(r.headers["x-request-id"][:16])
    return prefixes


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def test_bind_sockets_gives_every_worker_its_own_socket_on_one_port() -> None:
    sockets = bind_sockets("127.0.0.1", 0, 3)
    try:
        ports = {s.getsockname()[1] for s in sockets}
        assert len(ports) == 1 and ports != {0}
        assert len({s.fileno() for s in sockets}) == 3
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in sockets)
        with socket.create_connection(("127.0.0.1", ports.pop()), timeout=5):
            pass  # listening
    finally:
        for s in sockets:
            s.close()


def test_two_workers_share_the_port_and_metrics_count_both() -> None:
    server = ServerProc(**WORKERS)
    try:
        prefixes = answered_by(server.url, 40)
        # The kernel spreads connections by hash: 40 all on one of two sockets has probability 2**-39.
        assert len(set(prefixes)) == 2, prefixes
        # Whichever process answers /metrics, it counts the sketches both scored.
        for _ in range(6):
            text = metrics_text(server.url)  # a new connection each time
            assert metric(text, "sketchq_sketches_scored_total", source="model") == 40
            assert metric(text, "sketchq_ready") == 1.0  # the minimum over live processes
            assert text.count("sketchq_model_info{") == 1
            assert metric(text, "sketchq_requests_in_flight") == 0
        assert len(worker_pids(server)) == 2
    finally:
        server.stop()


def test_every_worker_answers_the_same_bits_as_one_process(server: ServerProc,
                                                            sketches: list[dict[str, Any]]) -> None:
    """Real sketches, one request per new connection (so both workers answer), against the one-process server."""
    workers = ServerProc(**WORKERS, cache="off")
    try:
        seen = set()
        for s in sketches[:24]:
            body = {"sketches": [{"strokes": s["strokes"]}]}
            r = httpx.post(f"{workers.url}/score", json=body, timeout=30)
            one = httpx.post(f"{server.url}/score", json=body, timeout=30).json()["results"][0]
            seen.add(r.headers["x-request-id"][:16])
            got = r.json()["results"][0]
            assert (got["quality"], got["class"], got["top_k"]) == (one["quality"], one["class"], one["top_k"])
        assert len(seen) == 2
    finally:
        workers.stop()


def test_the_queue_depth_of_another_worker_reaches_metrics() -> None:
    """A sketch held in one worker's queue (batches wait 3 s for company) shows in /metrics whichever worker
    answers: each worker writes its function-read gauges once a second (Metrics.track), summed over workers."""
    server = ServerProc(**WORKERS, batch_wait="fixed", max_wait_ms=3_000, inline_when_idle=False, max_batch=4)
    try:
        held = threading.Thread(target=httpx.post, args=(f"{server.url}/score",),
                                kwargs={"json": {"sketches": [sketch(1)]}, "timeout": 30})
        held.start()
        for _ in range(4):  # new connections: both workers answer /metrics, almost surely
            wait_until(lambda: metric(metrics_text(server.url), "sketchq_queue_depth") == 1, timeout_s=10,
                       what="queue depth 1 in /metrics")
            assert metric(metrics_text(server.url), "sketchq_requests_in_flight") == 1
        held.join(30)
        wait_until(lambda: metric(metrics_text(server.url), "sketchq_queue_depth") == 0, timeout_s=10,
                   what="the queue empty again")
    finally:
        server.stop()


def test_a_worker_that_dies_is_replaced_on_its_socket() -> None:
    server = ServerProc(**WORKERS)
    try:
        first = worker_pids(server)
        os.kill(first[0], signal.SIGKILL)
        wait_until(lambda: f"worker 0 (pid {first[0]}) died" in server.log(), what="the supervisor noticing")
        wait_until(lambda: worker_pids(server)[0] != first[0], what="a new worker 0")
        wait_until(lambda: server.log().count("Application startup complete") == 3, timeout_s=60,
                   what="the new worker ready")
        assert alive(worker_pids(server)[0]) and worker_pids(server)[1] == first[1]
        prefixes = answered_by(server.url, 40)
        assert len(set(prefixes)) == 2, prefixes  # the replacement serves the dead worker's socket
        assert server.proc.poll() is None
    finally:
        server.stop()


def test_sigterm_drains_every_worker_and_the_service_exits_0() -> None:
    server = ServerProc(shutdown_grace_s=GRACE_S, **WORKERS)
    try:
        pids = worker_pids(server)
        metrics_dir = re.search(r"metrics of all in (\S+)\)", server.log()).group(1)  # type: ignore[union-attr]
        assert Path(metrics_dir).is_dir()
        t_sig = time.monotonic()
        server.signal(signal.SIGTERM)
        # Readiness fails in every process at once (four new connections: both sockets, almost surely) ...
        codes: list[int] = []
        while len(codes) < 4:
            codes.append(httpx.get(f"{server.url}/readyz", timeout=2).status_code)
            if codes[-1] != 503:
                codes.clear()
                assert time.monotonic() - t_sig < 0.5, "readiness still passes 0.5 s after SIGTERM"
        # ... while work is still answered during the grace period
        assert httpx.post(f"{server.url}/score", json={"sketches": [sketch(0)]}, timeout=10).status_code == 200
        assert server.proc.wait(15) == 0, server.log()
        assert time.monotonic() - t_sig < GRACE_S + 5.0
        log = server.log()
        assert log.count("SIGTERM: failing readiness") == 2, log
        assert all(f"worker {i} (pid {pids[i]}) exited with 0" in log for i in (0, 1)), log
        assert not any(alive(pid) for pid in pids.values())
        assert not Path(metrics_dir).exists()  # the supervisor's own directory is removed
    finally:
        server.stop()


def test_ctrl_c_is_passed_on_to_the_workers_and_stops_quietly() -> None:
    server = ServerProc(**WORKERS)
    try:
        server.signal(signal.SIGINT)
        assert server.proc.wait(30) == 0
        log = server.log()
        assert "SIGINT: passing it on to 2 workers" in log
        assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
    finally:
        server.stop()


def test_workers_stop_by_themselves_when_the_supervisor_is_killed() -> None:
    server = ServerProc(**WORKERS)
    try:
        pids = worker_pids(server)
        server.proc.kill()  # SIGKILL: nothing forwarded
        server.proc.wait(10)
        wait_until(lambda: not any(alive(pid) for pid in pids.values()), timeout_s=30,
                   what="the orphaned workers exiting")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz", timeout=2)  # nothing keeps the port
    finally:
        server.stop()


def run_service(**settings: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKETCHQ_")}
    env.update({f"SKETCHQ_{k.upper()}": str(v) for k, v in settings.items()})
    return subprocess.run([sys.executable, "-m", "service"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_worker_that_cannot_start_stops_the_service_with_status_3(tmp_path: Path) -> None:
    done = run_service(workers=2, port=free_port(), model_dir=tmp_path / "no-model", log_format="text")
    assert done.returncode == STARTUP_FAILURE, done.stderr[-3000:]
    assert "before it was ready; stopping the service" in done.stderr


def test_a_port_in_use_is_a_clear_error_before_any_worker_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_service(workers=2, port=taken.getsockname()[1], log_format="text")
    assert done.returncode == 1
    assert "cannot listen on 127.0.0.1" in done.stderr and "Address already in use" in done.stderr
    assert "worker 0 started" not in done.stderr
