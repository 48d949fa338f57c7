"""The greedy stroke-removal search, with a transparent scoring rule (the real model is tested in
tests/service and tests/training): each bad stroke (x > 1000) costs 10 quality points and raises the
cosine to class 0 by 0.1; each "meh" stroke (x < -1000) costs 15 quality points and leaves the angles alone."""

import asyncio

import numpy as np
import pytest

from sketchprep.attribution import ANGLE_FEATURES, Eval, Rule, angle_features, attribute, card_rules, max_evaluations
from sketchprep.card import AttributionThresholds

GOOD = [np.array([[0.0, 0.0], [10.0, 10.0]]) + i for i in range(5)]
BAD = np.array([[2000.0, 0.0], [2100.0, 50.0]])
MEH = np.array([[-2000.0, 0.0], [-2100.0, 50.0]])


def n_bad(sk) -> int:
    return sum(float(s[:, 0].max()) > 1000 for s in sk)


def n_meh(sk) -> int:
    return sum(float(s[:, 0].min()) < -1000 for s in sk)


def rule_scorer(calls: list[int]):
    async def score(sketches):
        calls.append(len(sketches))
        return [Eval(50.0 - 10.0 * n_bad(sk) - 15.0 * n_meh(sk) + 0.1 * len(sk), np.array([0.1 * n_bad(sk), 0.5, 0.2]))
                for sk in sketches]
    return score


def run(strokes, q_tau=45.0, q_max=48.0, max_removals=5, min_gain=0.05, prune=True, rule=None):
    calls: list[int] = []
    rule = rule or Rule("q", q_tau, q_max)
    r = asyncio.run(attribute(strokes, rule_scorer(calls), lambda c: rule, max_removals, min_gain, prune))
    return r, calls


def test_injected_strokes_are_removed_and_the_sketch_is_rare_hard():
    strokes = GOOD[:2] + [BAD] + GOOD[2:] + [BAD + 5]
    r, calls = run(strokes)
    assert r.verdict == "rare_hard"
    assert sorted(r.removed) == [2, 6]
    assert r.kept == [0, 1, 3, 4, 5]
    assert r.best_quality == pytest.approx(50.5)
    assert calls == [1, 7, 6, 2]  # the original, one batch of variants per removal, one pruning batch
    assert r.evaluations == 16 and r.put_back == []


# value = 1 - 10 * min(cosines): 1 without bad strokes, 0 with one, -1 with two or more
SCORE = Rule("score", tau=0.5, max=-0.5, weights=(0.0, 0.0, 0.0, 0.0, 0.0, -10.0), bias=1.0)


def test_pruning_puts_back_strokes_the_verdict_does_not_need():
    strokes = GOOD[:3] + [MEH, BAD]
    rule = Rule("score", tau=1.5, max=0.5, weights=SCORE.weights, bias=1.0)
    unpruned, _ = run(strokes, rule=rule, prune=False)
    assert unpruned.removed == [3, 4]  # q-greedy removes the meh stroke first, then the bad one reaches max
    r, calls = run(strokes, rule=rule)
    assert r.verdict == unpruned.verdict == "rare_hard"
    assert r.removed == [4] and r.put_back == [3] and r.kept == [0, 1, 2, 3]
    assert r.best_value == pytest.approx(1.0)
    assert calls == [1, 5, 4, 2, 1]  # two pruning passes: the meh stroke comes back, the bad one cannot
    assert r.evaluations == sum(calls) <= max_evaluations(5, 5)


def test_a_good_sketch_is_benign_without_search():
    r, calls = run(GOOD)
    assert r.verdict == "benign" and calls == [1] and r.removed == []


def test_unrecoverable_sketch_is_malicious():
    r, _ = run([BAD, BAD + 1, BAD + 2], q_max=49.0, max_removals=5)
    assert r.verdict == "malicious"
    assert len(r.kept) >= 1 and sorted(r.kept + r.removed) == [0, 1, 2]


def test_no_removal_that_helps_less_than_min_gain():
    r, calls = run(GOOD[:3] + [BAD], q_tau=100.0, q_max=100.0, min_gain=20.0)
    assert r.removed == [] and calls == [1, 4] and r.verdict == "malicious"


@pytest.mark.parametrize("n,removals", [(1, 5), (2, 5), (10, 3), (30, 5)])
def test_work_is_bounded(n, removals):
    strokes = [BAD + i for i in range(n)]
    r, calls = run(strokes, q_tau=1e9, q_max=1e9, max_removals=removals, min_gain=-1e9)  # always removes
    assert r.evaluations == sum(calls) <= max_evaluations(n, removals)
    assert len(r.trajectory) == min(removals, n - 1)
    assert len(r.kept) >= 1


def test_pruning_is_within_the_bound():
    strokes = GOOD + [BAD + i for i in range(4)]
    r, calls = run(strokes, q_tau=1e9, q_max=0.0, max_removals=4, min_gain=-1e9)  # everything reaches q_max
    assert r.verdict == "rare_hard" and r.evaluations == sum(calls) <= max_evaluations(9, 4)


def test_angle_features():
    f = angle_features(np.e, np.array([0.2, 0.8, 0.5]))
    assert len(f) == len(ANGLE_FEATURES)
    assert f == pytest.approx([1.0, 0.8, 0.3, 0.5, np.std([0.2, 0.8, 0.5]), 0.2])


def test_the_score_rule_judges_by_its_logistic_value_not_by_q():
    strokes = GOOD[:2] + [BAD] + GOOD[2:] + [BAD + 5]
    r, _ = run(strokes, rule=SCORE)
    assert r.value == pytest.approx(-1.0) and r.quality < 45.0
    assert r.verdict == "rare_hard" and r.best_value == pytest.approx(0.0)
    assert len(r.removed) == 1 and r.removed[0] in (2, 6)  # one removal reaches max; the search stops there
    assert run(GOOD, rule=SCORE)[0].verdict == "benign"
    assert run([BAD, BAD + 1, BAD + 2], rule=SCORE, max_removals=1)[0].verdict == "malicious"
    meh = run(GOOD + [MEH], rule=SCORE)[0]  # low q, but the angles say it is drawn
    assert meh.quality < 45.0 and meh.verdict == "benign"


def test_rules_come_from_the_card():
    block = AttributionThresholds.model_validate({
        "rule": "score", "q_tau": 1.0, "q_max": 2.0, "per_class": {"b": {"q_tau": 3.0, "q_max": 4.0}},
        "score": {"features": list(ANGLE_FEATURES), "weights": [1, 2, 3, 4, 5, 6], "bias": -1, "tau": 0.5,
                  "max": 0.25}, "procedure": "by hand"})
    name, q_rules, score = card_rules(block, ["a", "b"])
    assert name == "score"
    assert (q_rules[0].tau, q_rules[0].max, q_rules[1].tau, q_rules[1].max) == (1.0, 2.0, 3.0, 4.0)
    assert score is not None and score.weights == (1, 2, 3, 4, 5, 6) and (score.tau, score.max) == (0.5, 0.25)
