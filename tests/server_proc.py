"""`python -m service` in a subprocess on a free port, for the service and the deployment tests alike
(tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120  # a loaded 2-core machine can take a while to import and warm the model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProc:
    """The server with settings given as SKETCHQ_* variables (no shutdown grace unless asked for); ready when
    the constructor returns."""

    def __init__(self, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKETCHQ_") and k != "REDIS_URL"}
        env.update({"SKETCHQ_PORT": str(self.port), "SKETCHQ_HOST": "127.0.0.1", "SKETCHQ_SHUTDOWN_GRACE_S": "0",
                    "SKETCHQ_LOG_LEVEL": "info", "PYTHONUNBUFFERED": "1"})
        env.update({f"SKETCHQ_{k.upper()}": str(v) for k, v in settings.items()})
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115  (closed in stop())
            "w+", prefix="sketchq-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO, env=env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
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
