"""Helpers for the peer tests: bench/ on sys.path (the peers are started as the benchmark starts them, with
bench/stacks.py) and the comparison of a peer's answers with sketchq's."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from stacks import TRITON_VENV, PeerUnavailable, Stack, post, start_floor, start_naive, start_sketchq, start_triton  # noqa: E402

__all__ = ["TRITON_VENV", "PeerUnavailable", "Stack", "post", "start_floor", "start_naive", "start_sketchq",
           "start_triton"]

MODEL_DIR = REPO / "models" / "gacl"
TOLERANCE = 1e-6  # relative, as bench/side_by_side.py checks (float32 rounding of other batch shapes is < 1e-6)


def assert_same_answers(got: list[tuple[float, str]], expected: list[tuple[float, str]]) -> None:
    """Each sketch's q within TOLERANCE (relative) of sketchq's and the same predicted class."""
    assert len(got) == len(expected)
    for i, ((q, cls), (q_ref, cls_ref)) in enumerate(zip(got, expected, strict=True)):
        assert abs(q - q_ref) <= TOLERANCE * max(abs(q_ref), 1.0), f"sketch {i}: q {q} != sketchq's {q_ref}"
        assert cls == cls_ref, f"sketch {i}: class {cls!r} != sketchq's {cls_ref!r}"
