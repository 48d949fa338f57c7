"""Fixtures shared by every test folder: the real Quick, Draw! data in ../shared/data (never copied)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from server_proc import DATA

from sketchprep.formats import SketchRecord, read_ndjson


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder; absent data fails in CI (where it must be) and skips elsewhere."""
    if not DATA.exists():
        if os.environ.get("CI"):
            pytest.fail(f"shared data missing at {DATA} (CI must have it)")
        pytest.skip(f"shared data not found at {DATA}; set SKETCHQ_TEST_DATA")
    return DATA


@pytest.fixture(scope="session")
def read_real(data_dir: Path) -> Callable[[tuple[str, ...], int], list[SketchRecord]]:
    """read_real(categories, n): the first n records of each category's file."""
    def read(categories: tuple[str, ...], n: int) -> list[SketchRecord]:
        return [r for c in categories for r in itertools.islice(read_ndjson(data_dir / f"{c}.ndjson.gz"), n)]
    return read
