"""Several service processes on one port (`python -m service` with SKETCHQ_WORKERS > 1).

One event loop per process does the HTTP, JSON and preprocessing work of every request, so a single process
cannot keep two cores busy with ONNX Runtime (issue 17's profile). Here each worker is a whole service
(service.server.serve: its own model session, batcher and event loop) and the kernel spreads connections
over them.

Why not uvicorn's own `--workers`: its workers share one listening socket, and whichever process wakes first
takes a connection. Measured on this machine with 64-sketch requests on 32 keep-alive connections, one of two
processes took most of them (3,354 sketches/s, 1.2 of 2 cores busy), where one SO_REUSEPORT socket per
process, which the kernel balances by connection hash, gave 5,888 (2 cores busy).

The supervisor
- binds every socket itself, before any worker starts: an address in use fails at once with a clear error,
  and port 0 picks one port for all of them;
- starts the workers (spawn: a fresh interpreter each) and logs when every one is ready;
- forwards each SIGTERM / SIGINT it receives to every worker once, so the drain (service.server) runs in each
  and a second signal skips the grace period there too; workers sit in their own process group, so a
  terminal's Ctrl+C reaches them only through the supervisor, once;
- replaces a worker that dies after it was ready, on the same socket (connections in that socket's accept
  queue wait for the replacement, about the model's load time), and stops the service (exit 3) when a worker
  dies before it was ready: a broken model or setting would fail the same way on every restart;
- points prometheus_client at one directory for all workers (PROMETHEUS_MULTIPROC_DIR: a fresh temporary one,
  or the one given, emptied first), so /metrics, whichever worker answers, counts them all.
A worker whose supervisor is killed outright drains and exits by itself, so no orphan keeps the port.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import threading
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path
from types import FrameType

from prometheus_client import multiprocess

from service.core import logs
from service.core.settings import Settings
from service.server import serve

log = logging.getLogger("service.supervisor")

STARTUP_FAILURE = 3  # exit status when a worker dies before it was ready (uvicorn's own code for it)
BACKLOG = 2048  # each socket's accept queue (uvicorn's default)


def bind_sockets(host: str, port: int, count: int, backlog: int = BACKLOG) -> list[socket.socket]:
    """`count` listening sockets on one address, each with SO_REUSEPORT (port 0: the port the first gets)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("workers > 1 needs SO_REUSEPORT, which this platform lacks; run with SKETCHQ_WORKERS=1")
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], sockets[0].getsockname()[1], *address[2:]) if len(sockets) > 1 else address)
            sock.listen(backlog)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _exit_with(parent_sentinel: int) -> None:
    """In a worker: when the supervisor is gone, drain and exit as on SIGTERM."""
    multiprocessing.connection.wait([parent_sentinel])
    os.kill(os.getpid(), signal.SIGTERM)


def run_worker(settings: Settings, sock: socket.socket, ready: Event) -> None:
    """A worker process's entry point (spawned by the supervisor)."""
    os.setpgid(0, 0)  # a terminal's Ctrl+C goes to the supervisor only, which forwards it once
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="sketchq-parent-watch",
                         daemon=True).start()
    serve(settings, [sock], on_started=ready.set)


@dataclass
class Worker:
    index: int
    process: BaseProcess
    ready: Event


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[Worker] = []
        self._sockets: list[socket.socket] = []
        self._stopping = False
        self._all_ready_logged = False

    # --- lifecycle -------------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until stopped; the exit status (0: every worker drained and exited cleanly)."""
        s = self.settings
        logs.configure(s.log_level, s.log_format)
        try:
            self._sockets = bind_sockets(s.host, s.port, s.workers)
        except OSError as e:
            log.error("cannot listen on %s:%d with %d workers: %s", s.host, s.port, s.workers, e)
            return 1
        metrics_dir, own_dir = self._metrics_dir()
        port = self._sockets[0].getsockname()[1]
        log.info("supervisor %d: %d workers on http://%s:%d (metrics of all in %s)", os.getpid(), s.workers, s.host,
                 port, metrics_dir)
        if s.rate_limit and not s.redis_url:
            log.warning("rate limits without Redis: each of the %d workers keeps its own budgets, so a client may "
                        "get up to %d times its budget (set SKETCHQ_REDIS_URL to share them)", s.workers, s.workers)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._workers = [self._start(i) for i in range(s.workers)]
            return self._supervise(metrics_dir)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sock in self._sockets:
                sock.close()
            if own_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)

    def _start(self, index: int) -> Worker:
        ready = self._ctx.Event()
        process = self._ctx.Process(target=run_worker, args=(self.settings, self._sockets[index], ready),
                                    name=f"sketchq-worker-{index}")
        process.start()
        log.info("worker %d started (pid %s)", index, process.pid)
        return Worker(index, process, ready)

    def _supervise(self, metrics_dir: Path) -> int:
        status = 0
        while self._workers:
            sentinels = [w.process.sentinel for w in self._workers]
            multiprocessing.connection.wait(sentinels, timeout=None if self._all_ready_logged else 0.1)
            self._log_when_all_ready()
            for worker in [w for w in self._workers if not w.process.is_alive()]:
                worker.process.join()
                code = worker.process.exitcode
                multiprocess.mark_process_dead(worker.process.pid, str(metrics_dir))
                self._workers.remove(worker)
                if self._stopping:
                    log.info("worker %d (pid %s) exited with %s", worker.index, worker.process.pid, code)
                    status = status or (0 if code == 0 else 1)
                elif not worker.ready.is_set():
                    log.error("worker %d (pid %s) exited with %s before it was ready; stopping the service",
                              worker.index, worker.process.pid, code)
                    self._stop_all(signal.SIGTERM)
                    status = STARTUP_FAILURE
                else:
                    log.error("worker %d (pid %s) died (exit status %s); starting a new one on its socket",
                              worker.index, worker.process.pid, code)
                    self._workers.append(self._start(worker.index))
        return status

    def _log_when_all_ready(self) -> None:
        if not self._all_ready_logged and all(w.ready.is_set() for w in self._workers):
            self._all_ready_logged = True
            log.info("all %d workers ready", len(self._workers))

    # --- signals ---------------------------------------------------------------------------------
    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        log.info("%s: passing it on to %d workers", signal.Signals(sig).name, len(self._workers))
        self._stop_all(sig)

    def _stop_all(self, sig: int) -> None:
        self._stopping = True
        for worker in self._workers:
            if worker.process.is_alive() and worker.process.pid is not None:
                os.kill(worker.process.pid, sig)

    @staticmethod
    def _metrics_dir() -> tuple[Path, bool]:
        """(the directory prometheus_client's multiprocess mode uses, whether this supervisor created it)."""
        given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if given:
            path = Path(given)
            path.mkdir(parents=True, exist_ok=True)
            for stale in path.glob("*.db"):  # a previous run's values would be added to this one's
                stale.unlink()
            return path, False
        path = Path(tempfile.mkdtemp(prefix="sketchq-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)  # the workers inherit it (read when they import)
        return path, True
