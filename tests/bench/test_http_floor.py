"""The HTTP floor of bench/request_ladder.py (bench/peers/http_floor_server.py), started for real with two
processes: it answers every POST /score with one result per sketch, in the shape of sketchq's answer (the same
keys, so its answers weigh about what sketchq's do), and it runs one serving process per socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from peer_support import Stack, start_floor


@pytest.fixture(scope="module")
def floor() -> Iterator[Stack]:
    stack = start_floor(workers=2)
    yield stack
    stack.stop()


def answer(stack: Stack, sketches: list[dict[str, Any]]) -> dict[str, Any]:
    r = httpx.post(stack.url, content=stack.encode(sketches), headers={"content-type": "application/json"},
                   timeout=10)
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content)
    return json.loads(r.content)


def test_floor_answers_one_result_per_sketch(floor: Stack, peer_sketches: list[dict[str, Any]]) -> None:
    for n in (1, 5, len(peer_sketches)):
        assert len(answer(floor, peer_sketches[:n])["results"]) == n


def test_floor_answer_has_sketchq_answer_shape(floor: Stack, sketchq: Stack,
                                               peer_sketches: list[dict[str, Any]]) -> None:
    got, expected = answer(floor, peer_sketches[:2]), answer(sketchq, peer_sketches[:2])
    assert set(got) == set(expected)
    assert set(got["model"]) == set(expected["model"])
    assert [set(r) for r in got["results"]] == [set(r) for r in expected["results"]]


def test_floor_runs_one_process_per_socket(floor: Stack) -> None:
    # the layout of sketchq's SKETCHQ_WORKERS=2: a parent holding the sockets and two serving processes
    children = Path(f"/proc/{floor.pid}/task/{floor.pid}/children").read_text().split()
    cmdlines = [Path(f"/proc/{c}/cmdline").read_bytes() for c in children]
    serving = [c for c in cmdlines if b"multiprocessing" in c and b"resource_tracker" not in c]
    assert len(serving) == 2
