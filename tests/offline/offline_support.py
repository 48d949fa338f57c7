"""Helpers of the offline tests: small input files made of real drawings (written to tmp, never committed)."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path
from typing import Any

MODEL = Path(__file__).resolve().parents[2] / "models" / "gacl"


def real_objects(data_dir: Path, category: str, n: int) -> list[dict[str, Any]]:
    """The first n NDJSON objects of a category's file, as read."""
    with gzip.open(data_dir / f"{category}.ndjson.gz", "rt") as fh:
        return [json.loads(line) for line in itertools.islice(fh, n)]


def write_ndjson(path: Path, objects: list[Any], raw_lines: dict[int, str] | None = None) -> Path:
    """objects as NDJSON; raw_lines puts a literal line at a 0-based position (for malformed JSON)."""
    lines = [json.dumps(o) for o in objects]
    for pos, text in sorted((raw_lines or {}).items()):
        lines.insert(pos, text)
    path.write_text("\n".join(lines) + "\n")
    return path

