"""Fixtures for the tests of the side-by-side benchmark's peers (bench/peers/, issue 17): the shipped model, real
sketches, and sketchq itself (`python -m service`, cache off) as the reference every peer must agree with.
The peers are started as the benchmark starts them (bench/stacks.py, through peer_support)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from peer_support import MODEL_DIR, Stack, start_sketchq

from sketchprep.formats import SketchRecord
from sketchprep.strokes import strokes_to_drawing

CATEGORIES = ("cat", "owl", "square", "alarm_clock")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not (MODEL_DIR / "model_card.json").exists():
        pytest.fail(f"the shipped model is missing at {MODEL_DIR}")
    return MODEL_DIR


@pytest.fixture(scope="session")
def peer_sketches(read_real: Callable[[tuple[str, ...], int], list[SketchRecord]]) -> list[dict[str, Any]]:
    """12 real sketches of 4 classes, as API sketch objects with their true label."""
    return [{"strokes": strokes_to_drawing(r.strokes), "label": r.category} for r in read_real(CATEGORIES, 3)]


@pytest.fixture(scope="session")
def sketchq(model_dir: Path) -> Iterator[Stack]:
    stack = start_sketchq(model_dir, max_queue=1024)
    yield stack
    stack.stop()
