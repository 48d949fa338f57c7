"""The contract against the server, quickly (issue 14, defect 7): schemathesis with positive and negative
data and every check against a real server's own /openapi.json, a few cases per operation. The 2,000-case
run is bench/reliability.py's `schema` part (docs/results/reliability.md). Skips without schemathesis (the
dev extra; `make test` installs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from svc_support import REPO, ServerProc

pytest.importorskip("schemathesis", reason="schemathesis is not installed (dev extra)")

sys.path.insert(0, str(REPO / "bench"))
from reliability import SCHEMA_SERVER  # noqa: E402  (the bench's server settings, so both runs agree)


def test_schemathesis_positive_and_negative_finds_nothing(model_path: Path, tmp_path: Path) -> None:
    srv = ServerProc(model_dir=model_path, **SCHEMA_SERVER)
    try:
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "st_hooks", "PYTHONPATH": str(REPO / "bench")}
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{srv.url}/openapi.json", "--checks", "all",
             "--mode", "all", "--max-examples", "25", "--seed", "1", "--phases", "coverage,fuzzing",
             "--generation-database", "none"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    finally:
        srv.stop()
    assert run.returncode == 0, run.stdout[-6000:]
    assert "No issues found" in run.stdout
