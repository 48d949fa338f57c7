"""The label-noise evaluation's pieces: flips and the rule applied to a scored split."""

from __future__ import annotations

import numpy as np

from sketchprep.card import LabelCheck
from sketchprep.label_rule import is_suspect
from training.evaluation.label_noise import Scored, claimed_theta, flagged, flip, precision_recall


def test_flip_changes_exactly_the_fraction_and_never_to_the_true_class() -> None:
    labels = np.random.default_rng(1).integers(0, 5, size=1000)
    noisy, mask = flip(labels, 0.2, 5, seed=3)
    assert mask.sum() == 200 and (noisy[mask] != labels[mask]).all() and (noisy[~mask] == labels[~mask]).all()
    assert set(np.unique(noisy)) <= set(range(5))
    again, _ = flip(labels, 0.2, 5, seed=3)
    assert (again == noisy).all()


def test_flagged_is_the_shared_rule_drawing_by_drawing() -> None:
    rng = np.random.default_rng(0)
    n, c = 300, 4
    s = Scored(q=rng.uniform(5, 80, n), cos=rng.uniform(-1, 1, (n, c)), pred=rng.integers(0, c, n),
               labels=rng.integers(0, c, n), classes=list("abcd"))
    check = LabelCheck(q_min=20.0, theta_suspect=1.2, procedure="test")
    got = flagged(s, s.labels, check)
    theta = claimed_theta(s, s.labels)
    want = [is_suspect(s.q[i], theta[i], s.pred[i], s.labels[i], check) for i in range(n)]
    assert got.tolist() == want and 0 < got.sum() < n
    assert precision_recall(np.array([True, True, False]), np.array([True, False, True])) == (0.5, 0.5)
