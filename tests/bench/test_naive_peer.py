"""The naive FastAPI + ONNX Runtime peer (bench/peers/naive_server.py), started for real on a free port: its q
and predicted class for real sketches equal sketchq's (POST /score of `python -m service`), whether the
sketches come one per request or together in one request (padded to the longest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peer_support import Stack, assert_same_answers, post, start_naive


@pytest.fixture(scope="module")
def naive(model_dir: Path) -> Iterator[Stack]:
    stack = start_naive(model_dir)
    yield stack
    stack.stop()


def test_naive_peer_answers_equal_sketchq(naive: Stack, sketchq: Stack, peer_sketches: list[dict[str, Any]]) -> None:
    expected = post(sketchq, peer_sketches)
    assert len({q for q, _ in expected}) == len(expected), "the reference answers should differ between sketches"
    assert_same_answers(post(naive, peer_sketches), expected)
    assert_same_answers([post(naive, [s])[0] for s in peer_sketches[:4]], expected[:4])
