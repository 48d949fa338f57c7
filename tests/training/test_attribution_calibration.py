"""The attribution set, the calibration of the score rule, and the shipped card's rule on held-out sketches
(real ONNX model, real Quick, Draw! sketches)."""

import asyncio
from pathlib import Path

import numpy as np
import pytest

from sketchprep.attribution import Rule, attribute, card_rules
from training.data.attribution_set import build_attribution_set
from training.data.splits import load_splits
from training.export.calibrate_attribution import accepted, calibrate_score, f1, generator_holdout, paths
from training.export.runtime import OnnxScorer

MODEL = Path(__file__).resolve().parents[2] / "models" / "gacl"


@pytest.fixture(scope="module")
def scorer() -> OnnxScorer:
    return OnnxScorer(MODEL)


@pytest.fixture(scope="module")
def splits(scorer, data_dir):
    _, sets = load_splits([data_dir], scorer.card.classes, scorer.pre, keep_records=True)
    return {k: [(r.strokes, r.category) for r in sets[k].records] for k in ("val", "test")}


def test_attribution_set_labels_and_injected_strokes(splits):
    real = splits["val"]
    cases = build_attribution_set(real, 30, seed=5)
    assert [c.label for c in cases].count("malicious") == 30 and len(cases) == 90
    originals = {id(s) for strokes, _ in real for s in strokes}
    for c in cases:
        if c.label == "rare_hard":
            assert len(c.injected) >= 1 and c.injected == sorted(c.injected)
            # the injected indices are exactly the strokes that are not from the real sketch
            assert [i for i, s in enumerate(c.strokes) if id(s) not in originals] == c.injected
        if c.label == "malicious":
            xy = np.concatenate(c.strokes)
            assert xy.min() >= -10 and xy.max() <= 265 and 1 <= len(c.strokes) <= 25
    again = build_attribution_set(real, 30, seed=5)
    assert all(np.array_equal(np.concatenate(a.strokes), np.concatenate(b.strokes))
               for a, b in zip(cases, again, strict=True))


def test_accepted_cuts_the_path_at_min_gain_and_max_removals(scorer, splits):
    cases = build_attribution_set(splits["val"], 4, seed=1)
    for p in paths(scorer, cases, max_removals=3):
        assert len(p) <= 4
        assert accepted(p, 0, 0.0) == p[:1]
        acc = accepted(p, 3, 1.0)
        assert all(b.q - a.q > 1.0 for a, b in zip(acc, acc[1:], strict=False))
        assert acc == p[: len(acc)]


def test_calibrated_score_separates_scribbles_from_drawings(scorer, splits):
    cases = build_attribution_set(splits["val"], 40, seed=3)
    truth = [c.label for c in cases]
    full = paths(scorer, cases, max_removals=3)
    s = calibrate_score(full, truth)
    assert s["tau"] >= s["max"] and 1 <= s["max_removals"] <= 5
    rule = Rule("score", s["tau"], s["max"], tuple(s["weights"]), s["bias"])
    v0 = np.array([rule.value(p[0]) for p in full])
    mal = np.array([t == "malicious" for t in truth])
    assert (v0[~mal][:, None] > v0[mal][None, :]).mean() > 0.8  # AUROC, scribbles lowest
    q0 = np.array([p[0].q for p in full])
    q_auroc = (q0[~mal][:, None] > q0[mal][None, :]).mean()
    assert (v0[~mal][:, None] > v0[mal][None, :]).mean() > q_auroc
    holdout = generator_holdout(full, cases)
    assert set(holdout) == {"random_walk", "tangle", "zigzag_fill", "few_random_strokes"}
    assert all(0.5 < h["fitted_on"] <= 1.0 and 0.0 <= h["held_out"] <= 1.0 for h in holdout.values())


def test_shipped_rule_beats_q_alone_on_held_out_sketches(scorer, splits):
    """The card's score rule with removal against the paper's q alone, on a small test-split set."""
    block = scorer.card.thresholds.attribution
    name, q_rules, score = card_rules(block, scorer.card.classes)
    assert name == "score" and score is not None
    cases = build_attribution_set(splits["test"], 40, seed=99)
    truth = [c.label for c in cases]
    res = [asyncio.run(attribute(c.strokes, scorer.score, lambda _: score, block.max_removals, block.min_gain))
           for c in cases]
    q_alone = ["malicious" if r.quality < q_rules[r.class_index].tau else "benign" for r in res]
    with_removal = [r.verdict for r in res]
    assert f1(with_removal, truth) > f1(q_alone, truth) + 0.05
    rhs = [r for r, c in zip(res, cases, strict=True) if c.label == "rare_hard"]
    assert np.mean([r.verdict != "malicious" for r in rhs]) >= 0.6
    for r in res:  # removal only ever helps the verdict; pruning keeps what the verdict needs
        assert r.best_value >= r.value
        assert (r.verdict == "rare_hard") == (r.value < score.tau and r.best_value >= score.max)
