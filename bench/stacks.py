"""The stacks of the side-by-side benchmark (issue 17) as running processes, each with its request format.

- `sketchq`: `python -m service` (tests/server_proc.ServerProc), POST /score with sketchq's body;
- `naive`: bench/peers/naive_server.py, the same body and path;
- `triton`: bench/peers/triton_server.py in the Triton venv (bench/peers/setup_triton.sh), POST
  /v2/models/sketchq/infer with a KServe-v2 JSON body carrying each sketch's JSON as one BYTES element.

A `Stack` knows how to encode a list of sketches as its request body (pre-encoded once by the benchmark),
how to read q and the predicted class out of its answer, and which process tree to read its CPU from. A
peer that cannot be installed or started raises `PeerUnavailable` with the reason; the benchmark records it
and skips that peer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from server_proc import START_TIMEOUT_S, ServerProc, free_port  # noqa: E402

TRITON_VENV = Path(os.environ.get("SKETCHQ_TRITON_VENV", BENCH / ".venv-triton"))  # bench/peers/setup_triton.sh
TRITON_MODEL = "sketchq"
ALL_STACKS = ("sketchq", "triton", "naive")


class PeerUnavailable(RuntimeError):
    """A peer cannot be installed or started here (the message says why)."""


def score_body(sketches: list[dict[str, Any]]) -> bytes:
    """sketchq's (and the naive peer's) POST /score body."""
    return json.dumps({"sketches": sketches}).encode()


def triton_body(sketches: list[dict[str, Any]]) -> bytes:
    """Triton's KServe-v2 JSON body: each sketch's JSON as one BYTES element of shape [n, 1]."""
    data = [json.dumps(s) for s in sketches]
    return json.dumps({"inputs": [{"name": "sketch", "shape": [len(data), 1], "datatype": "BYTES",
                                   "data": data}]}).encode()


def score_answers(body: bytes) -> list[tuple[float, str]]:
    """(q, predicted class) per sketch from a /score answer (sketchq's or the naive peer's)."""
    return [(float(r["quality"]), str(r["class"])) for r in json.loads(body)["results"]]


def triton_answers(body: bytes) -> list[tuple[float, str]]:
    """(q, predicted class) per sketch from a KServe-v2 answer."""
    outputs = {o["name"]: o["data"] for o in json.loads(body)["outputs"]}
    return [(float(q), str(c)) for q, c in zip(outputs["quality"], outputs["class"], strict=True)]


@dataclass
class PeerProc:
    """A peer server process in its own session (so that all its processes can be ended together), its
    output in a temporary log file; ready once `ready_url` answers 200."""

    cmd: list[str]
    ready_url: str
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115  (closed in stop())
            "w+", prefix="sketchq-peer-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, env={**os.environ, **self.env}, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PeerUnavailable(f"{self.cmd[1]} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.ready_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling the readiness endpoint
        tail = self.log_tail()
        self.stop()
        raise PeerUnavailable(f"{self.cmd[1]} not ready in {timeout_s} s:\n{tail}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(Path(self.log_file.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to the server, then SIGKILL to its whole session if it has not exited in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout_s)
        with contextlib.suppress(ProcessLookupError):  # anything of its session still there (Triton's children)
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        self.log_file.close()
        Path(self.log_file.name).unlink(missing_ok=True)


@dataclass
class Stack:
    """One running stack: where to send what, and how to read its answers."""

    name: str
    port: int
    path: str
    pid: int  # root of its process tree (CPU from /proc)
    encode: Callable[[list[dict[str, Any]]], bytes]
    decode: Callable[[bytes], list[tuple[float, str]]]
    stop: Callable[[], None]
    info: dict[str, Any]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def start_sketchq(model_dir: Path, max_queue: int, workers: int = 1, cache: str = "off") -> Stack:
    """`python -m service` with its defaults except the cache (off unless asked for) and the queue bound raised;
    with workers > 1, that many processes with one engine worker each (the deployment docs' advice: one process
    per core)."""
    settings: dict[str, Any] = {"cache": cache, "max_queue": max_queue}
    if workers > 1:
        settings.update(workers=workers, engine_workers=1)
    server = ServerProc(model_dir=model_dir, log_level="warning", **settings)
    return Stack("sketchq", server.port, "/score", server.proc.pid, score_body, score_answers, server.stop,
                 {"command": "python -m service", "settings": settings})


def start_naive(model_dir: Path) -> Stack:
    port = free_port()
    peer = PeerProc([sys.executable, str(BENCH / "peers" / "naive_server.py"), "--model-dir", str(model_dir),
                     "--port", str(port)], f"http://127.0.0.1:{port}/healthz",
                    env={"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"})
    peer.start()
    assert peer.proc is not None
    return Stack("naive", port, "/score", peer.proc.pid, score_body, score_answers, peer.stop,
                 {"command": "bench/peers/naive_server.py", "settings": "FastAPI + uvicorn defaults, one process, "
                  "ORT session defaults, one session.run per request (padded to its longest sketch)"})


def start_floor(workers: int = 2) -> Stack:
    """bench/peers/http_floor_server.py: the HTTP stack alone, a fixed answer (bench/request_ladder.py)."""
    port = free_port()
    peer = PeerProc([sys.executable, str(BENCH / "peers" / "http_floor_server.py"), "--port", str(port),
                     "--workers", str(workers)], f"http://127.0.0.1:{port}/healthz")
    peer.start()
    assert peer.proc is not None
    return Stack("floor", port, "/score", peer.proc.pid, score_body, score_answers, peer.stop,
                 {"command": f"bench/peers/http_floor_server.py --workers {workers}"})


def triton_python(venv: Path) -> Path:
    """The Triton venv's python, or PeerUnavailable saying how to create it."""
    python = venv / "bin" / "python"
    if not python.exists():
        raise PeerUnavailable(f"no Triton venv at {venv}: run `bash bench/peers/setup_triton.sh` "
                              "(needs Python 3.12 with a shared libpython and PyPI)")
    return python


def start_triton(model_dir: Path, venv: Path = TRITON_VENV, extra_args: list[str] | None = None) -> Stack:
    python = triton_python(venv)
    check = subprocess.run([str(python), "-c", "import sysconfig, pytriton, onnxruntime; "
                            "print(sysconfig.get_config_var('LIBDIR'))"], capture_output=True, text=True)
    if check.returncode != 0:
        raise PeerUnavailable(f"the Triton venv {venv} does not import pytriton/onnxruntime "
                              f"(rerun bench/peers/setup_triton.sh):\n{check.stderr[-2000:]}")
    libdir = check.stdout.strip() or sysconfig.get_config_var("LIBDIR")
    port = free_port()
    args = extra_args or []
    peer = PeerProc([str(python), str(BENCH / "peers" / "triton_server.py"), "--model-dir", str(model_dir),
                     "--http-port", str(port), *args], f"http://127.0.0.1:{port}/v2/models/{TRITON_MODEL}/ready",
                    env={"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1",
                         "LD_LIBRARY_PATH": ":".join(p for p in (libdir, os.environ.get("LD_LIBRARY_PATH")) if p)})
    peer.start()
    assert peer.proc is not None
    config = httpx.get(f"http://127.0.0.1:{port}/v2/models/{TRITON_MODEL}/config", timeout=10).json()
    return Stack("triton", port, f"/v2/models/{TRITON_MODEL}/infer", peer.proc.pid, triton_body, triton_answers,
                 peer.stop, {"command": " ".join(["bench/peers/triton_server.py", *args]), "venv": str(venv),
                             **triton_settings(config)})


def triton_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What matters of Triton's model configuration (GET /v2/models/<name>/config)."""
    batching = config.get("dynamic_batching") or {}
    return {"instances": sum(int(g.get("count", 1)) for g in config.get("instance_group", [])),
            "max_batch_size": config.get("max_batch_size"),
            "max_queue_delay_us": int(batching.get("max_queue_delay_microseconds", 0)),
            "preferred_batch_size": batching.get("preferred_batch_size", [])}


def start_stack(name: str, model_dir: Path, max_queue: int, triton_venv: Path = TRITON_VENV,
                triton_args: list[str] | None = None, sketchq_workers: int = 1) -> Stack:
    if name == "sketchq":
        return start_sketchq(model_dir, max_queue, sketchq_workers)
    if name == "naive":
        return start_naive(model_dir)
    if name == "triton":
        return start_triton(model_dir, triton_venv, triton_args)
    raise ValueError(f"unknown stack {name!r} (known: {', '.join(ALL_STACKS)})")


def post(stack: Stack, sketches: list[dict[str, Any]], timeout_s: float = 60.0) -> list[tuple[float, str]]:
    """One request of these sketches to the stack: its (q, class) per sketch; a non-200 answer raises."""
    r = httpx.post(stack.url, content=stack.encode(sketches), headers={"content-type": "application/json"},
                   timeout=timeout_s)
    if r.status_code != 200:
        raise RuntimeError(f"{stack.name} answered {r.status_code}: {r.text[:500]}")
    answers = stack.decode(r.content)
    if len(answers) != len(sketches):
        raise RuntimeError(f"{stack.name} answered {len(answers)} results for {len(sketches)} sketches")
    return answers
