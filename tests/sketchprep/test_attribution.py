"""The greedy stroke-removal search, with a transparent scoring rule (the real model is tested in
tests/service): each stroke far outside the drawing (x > 1000) costs 10 quality points."""

import asyncio

import numpy as np
import pytest

from sketchprep.attribution import Thresholds, attribute, max_evaluations

GOOD = [np.array([[0.0, 0.0], [10.0, 10.0]]) + i for i in range(5)]
BAD = np.array([[2000.0, 0.0], [2100.0, 50.0]])


def rule_scorer(calls: list[int]):
    async def score(sketches):
        calls.append(len(sketches))
        return [(50.0 - 10.0 * sum(float(s[:, 0].max()) > 1000 for s in sk) + 0.1 * len(sk), 3) for sk in sketches]
    return score


def run(strokes, q_tau=45.0, q_max=48.0, max_removals=5, min_gain=0.05):
    calls: list[int] = []
    r = asyncio.run(attribute(strokes, rule_scorer(calls), lambda c: Thresholds(q_tau, q_max), max_removals, min_gain))
    return r, calls


def test_injected_strokes_are_removed_and_the_sketch_is_rare_hard():
    strokes = GOOD[:2] + [BAD] + GOOD[2:] + [BAD + 5]
    r, calls = run(strokes)
    assert r.verdict == "rare_hard"
    assert sorted(r.removed) == [2, 6]
    assert r.kept == [0, 1, 3, 4, 5]
    assert r.best_quality == pytest.approx(50.5)
    assert calls == [1, 7, 6]  # the original, then one batch of variants per removal
    assert r.evaluations == 14


def test_a_good_sketch_is_benign_without_search():
    r, calls = run(GOOD)
    assert r.verdict == "benign" and calls == [1] and r.removed == []


def test_unrecoverable_sketch_is_malicious():
    r, _ = run([BAD, BAD + 1, BAD + 2], q_max=49.0, max_removals=5)
    assert r.verdict == "malicious"
    assert len(r.kept) >= 1


def test_no_removal_that_helps_less_than_min_gain():
    r, calls = run(GOOD[:3] + [BAD], q_tau=100.0, q_max=100.0, min_gain=20.0)
    assert r.removed == [] and calls == [1, 4] and r.verdict == "malicious"


@pytest.mark.parametrize("n,removals", [(1, 5), (2, 5), (10, 3), (30, 5)])
def test_work_is_bounded(n, removals):
    strokes = [BAD + i for i in range(n)]
    r, calls = run(strokes, q_tau=1e9, q_max=1e9, max_removals=removals, min_gain=-1e9)  # always removes
    assert r.evaluations == sum(calls) <= max_evaluations(n, removals)
    assert len(r.removed) == min(removals, n - 1)
    assert len(r.kept) >= 1
