"""The offline commands run on the serving stack alone: no torch, no FastAPI, Ray only for --ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_offline_path_imports_neither_torch_nor_fastapi_nor_ray() -> None:
    code = ("import sys, offline.cli, offline.commands, offline.run, offline.report; "
            "print(sorted(m for m in ('torch', 'fastapi', 'ray', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
