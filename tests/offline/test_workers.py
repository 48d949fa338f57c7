"""`sketchq score --workers N`: this process and N - 1 spawned children take files from one queue; a child that
dies stops the run with a clear error instead of a hang or a partial output."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from offline_support import write_ndjson

from offline.cli import main


def spawned_children(pid: int) -> list[int]:
    """The multiprocessing-spawned worker processes of `pid` (not its resource tracker), from /proc."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmdline = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid and b"spawn_main" in cmdline:
            out.append(int(d.name))
    return out


@pytest.mark.slow
def test_a_killed_worker_stops_the_run_with_a_clear_error(tmp_path: Path, objects, capsys) -> None:
    # enough drawings that this process cannot finish every file alone before the child is killed
    paths = [write_ndjson(tmp_path / f"f{k}.ndjson", objects(cat, 300) * 5)
             for k, cat in enumerate(("cat", "eye", "dog", "owl"))]
    out = tmp_path / "scores.parquet"
    code: list[int] = []
    run = threading.Thread(target=lambda: code.append(
        main(["score", *map(str, paths), "--out", str(out), "--no-progress", "--workers", "2"])))
    run.start()
    deadline = time.monotonic() + 60
    while not (children := spawned_children(os.getpid())):
        assert time.monotonic() < deadline and run.is_alive(), "the worker process never started"
        time.sleep(0.01)  # polling for the child to exist, not waiting a fixed time
    os.kill(children[0], signal.SIGKILL)
    run.join(timeout=120)
    assert not run.is_alive(), "the run hung after its worker died"
    err = capsys.readouterr().err
    assert code == [1] and "a worker process died (exit code -9)" in err, err
    assert "Traceback" not in err and not out.exists()
