"""service.ops.limits: a request's sketches converted together (`to_flats`) give the same arrays as one by one
(`to_flat`), whatever mix of wire formats they come in, and a limit exceeded anywhere is reported for the first
sketch at fault, as one by one. The compiled kernel's model inputs (`native_points`) are the numpy path's, bit for
bit, and it leaves every other shape and every limit exceeded to that path."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from service.api.schemas.score import ScoreRequest
from service.api.schemas.score_fast import decode_score
from service.core.errors import LimitExceededError
from service.ops.limits import Limits, native_points, to_flat, to_flats, to_points
from sketchprep.preprocess import PreprocessConfig, flat_to_points
from sketchprep.strokes import strokes_to_stroke3

LIMITS = Limits(max_sketches=256, max_strokes=40, max_input_points=600, max_request_points=50_000,
                max_abs_coordinate=1e6)


def mixed(sketches: list[dict]) -> list[dict[str, Any]]:
    """Real sketches, every fourth sent as points, every fifth as stroke-3, every sixth with a time row."""
    out = []
    for i, s in enumerate(sketches):
        strokes = s["strokes"]
        if i % 4 == 1:
            out.append({"points": [[[x, y] for x, y in zip(*st, strict=True)] for st in strokes]})
        elif i % 5 == 2:
            arrays = [np.array(st, dtype=np.float64).T for st in strokes]
            out.append({"stroke3": strokes_to_stroke3(arrays).tolist()})
        elif i % 6 == 3:
            out.append({"strokes": [[xs, ys, list(range(len(xs)))] for xs, ys in strokes]})
        else:
            out.append({"strokes": strokes})
    return out


def one_by_one(req: ScoreRequest) -> list:
    return [to_flat(s, ["body", "sketches", i], LIMITS) for i, s in enumerate(req.sketches)]


def test_together_and_one_by_one_give_the_same_bits(sketches: list[dict]) -> None:
    req = ScoreRequest.model_validate({"sketches": mixed(sketches[:40])})
    together, alone = to_flats(req.sketches, 0, LIMITS), one_by_one(req)
    assert len(together) == len(alone) == 40
    for a, b in zip(together, alone, strict=True):
        assert a.lengths == b.lengths
        assert a.xy.dtype == b.xy.dtype == np.float64 and np.array_equal(a.xy, b.xy)
    cfg = PreprocessConfig()
    for p, flat in zip(to_points(req.sketches, 0, LIMITS, cfg), alone, strict=True):
        assert np.array_equal(p, flat_to_points(flat, cfg))


def test_the_fast_decoders_sketches_convert_like_score_requests(sketches: list[dict]) -> None:
    body = json.dumps({"sketches": sketches[:20]}).encode()
    fast, slow = decode_score(body), ScoreRequest.model_validate_json(body)
    assert fast is not None
    for a, b in zip(to_flats(fast.sketches, 0, LIMITS), one_by_one(slow), strict=True):
        assert a.lengths == b.lengths and np.array_equal(a.xy, b.xy)


def test_the_kernels_inputs_are_the_numpy_paths(sketches: list[dict]) -> None:
    """Plain Quick, Draw! requests (as the fast decoder gives them, long sketches included) go through the compiled
    kernel, with the numpy path's bits; a request with another wire format anywhere goes to numpy whole."""
    cfg = PreprocessConfig()
    for size in (1, 2, 64):
        req = decode_score(json.dumps({"sketches": sketches[:size]}).encode())
        assert req is not None
        got = native_points(req.sketches, LIMITS, cfg)
        assert got is not None
        want = [flat_to_points(f, cfg) for f in one_by_one(req)]  # type: ignore[arg-type]
        assert [p.tobytes() for p in got] == [p.tobytes() for p in want]
        assert [p.tobytes() for p in to_points(req.sketches, 0, LIMITS, cfg)] == [p.tobytes() for p in want]
    assert any(len(p) < sum(len(st[0]) for st in s["strokes"]) for p, s in zip(got, sketches, strict=False))  # RDP
    req = ScoreRequest.model_validate({"sketches": mixed(sketches[:8])})
    assert native_points(req.sketches, LIMITS, cfg) is None


def too_large(strokes: list) -> list:
    return [[[x * 1e7 for x in xs], ys] for xs, ys in strokes]


def too_many_strokes(strokes: list) -> list:
    return strokes * (LIMITS.max_strokes // len(strokes) + 1)


@pytest.mark.parametrize("faults, first", [
    ({3: too_large}, 3),
    ({5: too_many_strokes, 2: too_large}, 2),  # the earlier sketch is reported, whatever its fault
    ({1: too_many_strokes, 6: too_large}, 1),
    ({4: "points_too_large", 7: too_large}, 4),  # a sketch outside the group comes first
    ({7: "points_too_large", 2: too_many_strokes}, 2),
])
def test_the_first_sketch_at_fault_is_reported(sketches: list[dict], faults: dict, first: int) -> None:
    body = []
    for i, s in enumerate(sketches[:8]):
        fault = faults.get(i)
        if fault == "points_too_large":
            body.append({"points": [[[x * 1e7, y] for x, y in zip(*st, strict=True)] for st in s["strokes"]]})
        else:
            body.append({"strokes": fault(s["strokes"]) if fault else s["strokes"]})
    req = ScoreRequest.model_validate({"sketches": body})
    with pytest.raises(LimitExceededError) as together:
        to_flats(req.sketches, 0, LIMITS)
    with pytest.raises(LimitExceededError) as alone:
        one_by_one(req)
    with pytest.raises(LimitExceededError) as inputs:  # the compiled kernel leaves it to the numpy path
        to_points((decode_score(json.dumps({"sketches": body}).encode()) or req).sketches, 0, LIMITS,
                  PreprocessConfig())
    assert together.value.errors == alone.value.errors == inputs.value.errors
    assert together.value.errors[0]["loc"][:3] == ["body", "sketches", first]
