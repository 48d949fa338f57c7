import os
from pathlib import Path

import pytest

from sketchprep.formats import read_ndjson

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("SKETCHQ_DATA", ROOT.parent / "shared" / "data" / "quickdraw"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def real_sketches():
    """A few hundred real Quick, Draw! sketches from the shared data (never copied into the repo)."""
    if not DATA.exists():
        if os.environ.get("CI"):
            pytest.fail(f"shared data missing at {DATA} (CI must have it)")
        pytest.skip(f"shared data not found at {DATA}; set SKETCHQ_DATA")
    out = []
    for cat in ("cat", "monkey", "alarm_clock", "triangle"):
        out.extend(r for _, r in zip(range(100), read_ndjson(DATA / f"{cat}.ndjson.gz"), strict=False))
    return out
