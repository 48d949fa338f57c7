"""POST /score's msgspec decoder (service.api.schemas.score_fast) accepts only what ScoreRequest accepts, with
the same values: on real request bodies, on a list of malformed ones, and on seeded random mutations of a valid
body. What it does not take (None) is validated by ScoreRequest as before, so the contract's errors are kept."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from pydantic import ValidationError

from service.api.schemas.common import LABEL_MAX_LENGTH, TOP_K_MAX
from service.api.schemas.score import ScoreRequest
from service.api.schemas.score_fast import FastScoreRequest, decode_score


def pydantic_view(body: bytes) -> dict[str, Any] | None:
    """What ScoreRequest makes of a body, in the fields the scoring code reads; None when it refuses it."""
    try:
        req = ScoreRequest.model_validate_json(body)
    except ValidationError:
        return None
    return {"top_k": req.top_k, "sketches": [
        {"strokes": s.strokes, "points": s.points, "stroke3": s.stroke3, "label": s.label} for s in req.sketches]}


def fast_view(req: FastScoreRequest) -> dict[str, Any]:
    return {"top_k": req.top_k, "sketches": [
        {"strokes": s.strokes, "points": s.points, "stroke3": s.stroke3, "label": s.label} for s in req.sketches]}


def assert_subset(body: bytes) -> bool:
    """The decoder's answer, if any, is ScoreRequest's (same values, same types); returns whether it took it."""
    fast = decode_score(body)
    if fast is None:
        return False
    slow = pydantic_view(body)
    assert slow is not None, f"msgspec accepted a body ScoreRequest refuses: {body[:300]!r}"
    assert fast_view(fast) == slow
    coords = [v for s in fast.sketches for stroke in s.strokes for row in stroke for v in row]
    assert all(type(v) is float for v in coords)  # 3 arrives as 3.0, as pydantic's float gives it
    return True


def test_real_request_bodies_take_the_fast_decoder(sketches: list[dict]) -> None:
    for size in (1, 7, 64):
        body = json.dumps({"sketches": sketches[:size], "top_k": 5}).encode()
        assert assert_subset(body)
        assert len(decode_score(body).sketches) == size  # type: ignore[union-attr]


S = [[[0, 10, 20], [0, 10, 0]]]  # one stroke of three points


@pytest.mark.parametrize("body, taken", [
    ({"sketches": [{"strokes": S}]}, True),
    ({"sketches": [{"strokes": S, "label": "cat"}], "top_k": TOP_K_MAX}, True),
    ({"sketches": [{"strokes": S, "label": None}]}, True),
    ({"sketches": [{"strokes": [[[1.5e300], [-2]]]}]}, True),  # within float range: the limits refuse it later
    ({"sketches": [{"strokes": [[[0, 1], [0, 1], [0, 5]]]}]}, False),  # a time row: ScoreRequest checks it
    ({"sketches": [{"points": [[[0, 0], [1, 1]]]}]}, False),
    ({"sketches": [{"stroke3": [[0, 0, 0], [1, 1, 1]]}]}, False),
    ({"sketches": [{"strokes": S}], "top_k": 3.0}, False),  # ScoreRequest takes 3.0; so it answers it
    ({"sketches": [{"strokes": S}], "top_k": 0}, False),
    ({"sketches": [{"strokes": S}], "top_k": TOP_K_MAX + 1}, False),
    ({"sketches": [{"strokes": S}], "top_k": True}, False),
    ({"sketches": [{"strokes": S}], "topk": 3}, False),
    ({"sketches": [{"strokes": S, "lable": "cat"}]}, False),
    ({"sketches": [{"strokes": S, "label": "x" * (LABEL_MAX_LENGTH + 1)}]}, False),
    ({"sketches": [{"strokes": [[[0, 1], [0]]]}]}, False),  # rows of different lengths
    ({"sketches": [{"strokes": [[[], []]]}]}, False),
    ({"sketches": [{"strokes": []}]}, False),
    ({"sketches": [{"strokes": [[["1"], [2]]]}]}, False),
    ({"sketches": [{"strokes": [[[True], [2]]]}]}, False),
    ({"sketches": [{"strokes": [[[None], [2]]]}]}, False),
    ({"sketches": [{"strokes": S, "points": [[[0, 0]]]}]}, False),
    ({"sketches": [{"strokes": None}]}, False),
    ({"sketches": [{}]}, False),
    ({"sketches": []}, False),
    ({"sketches": {"strokes": S}}, False),
    ({}, False),
    ([], False),
])
def test_malformed_bodies_go_to_score_request(body: Any, taken: bool) -> None:
    raw = json.dumps(body).encode()
    assert assert_subset(raw) is taken


@pytest.mark.parametrize("raw", [
    b'{"sketches": [{"strokes": [[[1e999], [2]]]}]}',  # out of float range
    b'{"sketches": [{"strokes": [[[NaN], [2]]]}]}',
    b'{"sketches": [{"strokes": [[[1], [2]]], "label": "\\ud800"}]}',  # a lone surrogate
    b'{"sketches": [{"strokes": [[[1], [2]]]}]} trailing',
    b'\xef\xbb\xbf{"sketches": [{"strokes": [[[1], [2]]]}]}',
    b'{"sketches": [{"strokes": [[[1], [2]]]}]',
    b'',
])
def test_bytes_that_are_not_plain_json_go_to_score_request(raw: bytes) -> None:
    assert decode_score(raw) is None


def test_a_repeated_key_keeps_the_last_value_as_score_request_does() -> None:
    raw = b'{"sketches": [{"strokes": [[[1], [2]]]}], "sketches": [{"strokes": [[[5, 6], [7, 8]]]}], "top_k": 2}'
    assert assert_subset(raw)
    assert decode_score(raw).sketches[0].strokes == [[[5.0, 6.0], [7.0, 8.0]]]  # type: ignore[union-attr]


def mutate(node: Any, rng: random.Random) -> Any:
    """One random change somewhere in a JSON value: a value replaced by another type, a key dropped, renamed
    or added, a list emptied, shortened or grown."""
    if isinstance(node, dict) and node and rng.random() < 0.7:
        key = rng.choice(sorted(node))
        if rng.random() < 0.5:
            node[key] = mutate(node[key], rng)
            return node
        action = rng.choice(["drop", "rename", "add", "null"])
        if action == "drop":
            del node[key]
        elif action == "rename":
            node[key + rng.choice(["s", "_", ""])] = node.pop(key)
        elif action == "add":
            node[rng.choice(["points", "stroke3", "label", "top_k", "extra"])] = rng.choice([None, 1, "cat", [], S])
        else:
            node[key] = None
        return node
    if isinstance(node, list) and node and rng.random() < 0.7:
        i = rng.randrange(len(node))
        action = rng.choice(["inner", "inner", "pop", "dup", "clear"])
        if action == "inner":
            node[i] = mutate(node[i], rng)
        elif action == "pop":
            node.pop(i)
        elif action == "dup":
            node.insert(i, copy.deepcopy(node[i]))
        else:
            node.clear()
        return node
    return rng.choice([None, True, 0, 2.5, -1, 3.0, 1001, "3", "cat", "x" * 201, [], {}, [[1], [2]], 1e308])


def test_random_mutations_never_pass_what_score_request_refuses(sketches: list[dict]) -> None:
    rng = random.Random(12)
    base = {"sketches": [dict(s) for s in sketches[:3]], "top_k": 4}
    taken = 0
    for _ in range(3000):
        body = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            body = mutate(body, rng)
        taken += assert_subset(json.dumps(body).encode())
    assert 100 < taken < 2900  # both ways were exercised
