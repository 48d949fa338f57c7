"""The processes the tests and the benchmark run: `python -m service` on a free port and a throw-away
redis-server, and waiting for a condition with a deadline (instead of sleeping). For the service, web and
deployment tests (tests/ is on sys.path through tests/conftest.py) and bench/run.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]
# The real Quick, Draw! data every test folder reads (never copied); SKETCHQ_TEST_DATA points elsewhere.
DATA = Path(os.environ.get("SKETCHQ_TEST_DATA", REPO.parent / "shared" / "data" / "quickdraw"))
START_TIMEOUT_S = 120  # a loaded 2-core machine can take a while to import and warm the model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout_s: float = 15.0, what: str = "the condition",
               interval_s: float = 0.01) -> Any:
    """Poll `check` until it returns something true (returned), or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(interval_s)


class ServerProc:
    """The server with settings given as SKETCHQ_* variables (no shutdown grace unless asked for); ready when
    the constructor returns. `tree`: the source tree to run it from (another revision's checkout; its packages
    come first on the path)."""

    def __init__(self, tree: Path = REPO, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKETCHQ_") and k != "REDIS_URL"}
        env.update({"SKETCHQ_PORT": str(self.port), "SKETCHQ_HOST": "127.0.0.1", "SKETCHQ_SHUTDOWN_GRACE_S": "0",
                    "SKETCHQ_LOG_LEVEL": "info", "PYTHONUNBUFFERED": "1"})
        env.update({f"SKETCHQ_{k.upper()}": str(v) for k, v in settings.items()})
        if tree != REPO:
            env["PYTHONPATH"] = str(tree)
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115  (closed in stop())
            "w+", prefix="sketchq-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=tree, env=env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        # With workers > 1, ready once every process has answered /readyz 200 (each new connection lands on
        # one of them; the first 16 hex digits of x-request-id are the answering process's own prefix).
        workers = int(settings.get("workers", 1))
        ready: set[str] = set()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = httpx.get(f"{self.url}/readyz", timeout=1)  # a new connection each time
                if r.status_code == 200:
                    ready.add(r.headers["x-request-id"][:16])
                    if len(ready) == workers:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        log = self.log()  # before stop(), which removes the log file
        self.stop()
        raise RuntimeError(f"server not ready in {START_TIMEOUT_S} s:\n{log}")

    def log(self) -> str:
        return Path(self.log_file.name).read_text()

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log_file.close()
        Path(self.log_file.name).unlink(missing_ok=True)


class RedisProc:
    """A throw-away redis-server on a free port (no persistence)."""

    def __init__(self, port: int | None = None, maxmemory: str = "64mb") -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxmemory", maxmemory, "--maxmemory-policy", "allkeys-lru"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def read_http_answer(sock: socket.socket, timeout_s: float) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer read off a raw socket: (status, headers with lower-case names, body). The head must
    come; the body is read up to its Content-Length or until the server closes."""
    sock.settimeout(timeout_s)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0.0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def metrics_text(url: str) -> str:
    r = httpx.get(f"{url}/metrics", timeout=5)
    r.raise_for_status()
    return r.text
