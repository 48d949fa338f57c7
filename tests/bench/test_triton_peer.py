"""The Triton peer (bench/peers/triton_server.py, PyTriton in its own venv), started for real: its q and predicted
class for real sketches, sent as KServe-v2 BYTES tensors, equal sketchq's. Skipped, with the reason, where the
Triton venv is missing (bench/peers/setup_triton.sh creates it) or Triton cannot start here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peer_support import TRITON_VENV, PeerUnavailable, Stack, assert_same_answers, post, start_triton

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def triton(model_dir: Path) -> Iterator[Stack]:
    if not (TRITON_VENV / "bin" / "python").exists():
        pytest.skip(f"no Triton venv at {TRITON_VENV}: run `bash bench/peers/setup_triton.sh` to test this peer")
    try:
        stack = start_triton(model_dir)
    except PeerUnavailable as e:
        pytest.skip(f"the Triton peer cannot start here: {str(e)[:2000]}")
    yield stack
    stack.stop()


def test_triton_peer_answers_equal_sketchq(triton: Stack, sketchq: Stack, peer_sketches: list[dict[str, Any]]) -> None:
    expected = post(sketchq, peer_sketches)
    assert_same_answers(post(triton, peer_sketches), expected)
    assert_same_answers([post(triton, [s])[0] for s in peer_sketches[:4]], expected[:4])
