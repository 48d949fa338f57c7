"""Fixtures for the offline tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from offline_support import MODEL, real_objects


@pytest.fixture(scope="session")
def objects(data_dir: Path) -> Callable[[str, int], list[dict[str, Any]]]:
    return lambda category, n: real_objects(data_dir, category, n)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return MODEL
