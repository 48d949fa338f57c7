"""Agreement with judged pairs: the counting (ties, subsets, categories), the file reader and the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest

from training.evaluation.agreement import agreement, bootstrap_ci, credit, load_pairs, most_confidently_wrong
from training.evaluation.agreement_eval import ink_length, run

ROOT = Path(__file__).resolve().parents[2]

SQUARE = [[[0, 100, 100, 0, 0], [0, 0, 100, 100, 0]]]
LINE = [[[0, 100], [0, 0]]]


def pair(i, cat, r1, r2, a=SQUARE, b=LINE):
    return {"id": i, "category": cat, "a": {"drawing": a, "key_id": str(i), "split": "val"},
            "b": {"drawing": b, "key_id": str(i), "split": "test"},
            "ratings": [{"rater": 1, "better": r1[0], "confidence": r1[1]},
                        {"rater": 2, "better": r2[0], "confidence": r2[1]}]}


@pytest.fixture
def pairs_file(tmp_path):
    rows = [pair(1, "cat", ("A", 3), ("A", 2)),   # agree, clear, A wins
            pair(2, "cat", ("B", 3), ("B", 3)),   # agree, clear, B wins
            pair(3, "cat", ("A", 1), ("A", 3)),   # agree, not clear
            pair(4, "dog", ("A", 3), ("B", 3)),   # raters disagree: never counted
            pair(5, "dog", ("B", 2), ("B", 2))]   # agree, clear, B wins
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_credit_counts_ties_half_and_follows_the_chosen_side():
    got = credit(np.array([2.0, 1.0, 3.0, 5.0]), np.array([1.0, 2.0, 3.0, 4.0]),
                 np.array([True, True, False, False]))
    assert got.tolist() == [1.0, 0.0, 0.5, 0.0]


def test_credit_refuses_non_finite_scores():
    with pytest.raises(ValueError):
        credit(np.array([np.nan]), np.array([1.0]), np.array([True]))


def test_subsets_and_categories_count_by_hand(pairs_file):
    pairs = load_pairs(pairs_file)
    assert [p.consensus for p in pairs] == ["A", "B", "A", None, "B"]
    assert [p.clear for p in pairs] == [True, True, False, True, True]
    # score: right on pair 1, wrong on 2, tie on 3, (pair 4 ignored), right on 5
    sa = np.array([5.0, 9.0, 1.0, 0.0, 1.0])
    sb = np.array([1.0, 2.0, 1.0, 7.0, 4.0])
    res = agreement(pairs, {"s": (sa, sb)}, n_boot=200)
    assert res["subsets"]["agree"]["n"] == 4
    assert res["subsets"]["agree"]["s"]["agreement"] == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert res["subsets"]["agree_clear"]["n"] == 3
    assert res["subsets"]["agree_clear"]["s"]["agreement"] == pytest.approx(2 / 3)
    assert res["per_category"]["cat"] == {"n": 3, "s": pytest.approx(0.5)}
    assert res["per_category"]["dog"] == {"n": 1, "s": 1.0}
    lo, hi = res["subsets"]["agree"]["s"]["ci95"]
    assert 0.0 <= lo <= 0.625 <= hi <= 1.0


def test_bootstrap_interval_is_a_point_for_constant_credit_and_wide_for_mixed():
    assert bootstrap_ci(np.ones(50)) == (1.0, 1.0)
    lo, hi = bootstrap_ci(np.array([0.0, 1.0] * 25))
    assert lo < 0.45 and hi > 0.55


def test_most_confidently_wrong_orders_by_log_gap(pairs_file):
    pairs = load_pairs(pairs_file)
    sa = np.array([1.0, 9.0, 1.0, 0.1, 8.0])  # wrong on 1 (gap 2), 2 (gap 9/2), 5 (gap 8/4); 4 disagreed
    sb = np.array([2.0, 2.0, 1.0, 7.0, 4.0])
    assert most_confidently_wrong(pairs, sa, sb) == [1, 0, 4]


def test_reader_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(pair(1, "cat", ("A", 3), ("A", 3))) + "\n" + '{"id": 2}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        load_pairs(path)
    path.write_text(json.dumps(pair(1, "cat", ("C", 3), ("A", 3))) + "\n")
    with pytest.raises(ValueError, match="side A or B"):
        load_pairs(path)


def test_ink_length_is_the_pen_path():
    from sketchprep.strokes import strokes_from_drawing

    assert ink_length(strokes_from_drawing(SQUARE)) == pytest.approx(400.0)
    assert ink_length(strokes_from_drawing(SQUARE + LINE)) == pytest.approx(500.0)


def test_cli_run_on_the_shipped_model_writes_tables_and_figure(pairs_file, tmp_path):
    res = run(str(ROOT / "models" / "gacl"), str(pairs_file), str(tmp_path / "out"))
    names = set(res["subsets"]["agree"]) - {"n"}
    assert {"q", "max_cos", "max_prob", "q_claimed", "ink_length", "n_strokes"} <= names
    # ink: the square (A) has more ink than the line (B): right on pairs 1 and 3, wrong on 2 and 5
    assert res["subsets"]["agree"]["ink_length"]["agreement"] == pytest.approx(0.5)
    assert (tmp_path / "out" / "agreement.md").read_text().count("| cat |") == 1
    assert json.loads((tmp_path / "out" / "agreement.json").read_text())["subsets"]["agree"]["n"] == 4


def test_paired_difference_is_tight_when_scores_differ_on_few_pairs():
    from training.evaluation.agreement import paired_difference

    a = np.array([1.0] * 10 + [0.0] * 90)
    b = a.copy()
    b[:5] = 0.0  # B loses 5 of the pairs A wins, agrees elsewhere
    res = paired_difference(a, b)
    assert res["diff"] == pytest.approx(0.05)
    lo, hi = res["ci95"]
    assert 0.0 < lo <= 0.05 <= hi < 0.12  # paired: excludes 0 although each mean alone is uncertain


ELL = [[[0, 0, 60], [0, 100, 100]], [[30, 45], [20, 20]]]  # an L and a dash: not left-right symmetric
ELL_FLIPPED = [[[100, 100, 40], [0, 100, 100]], [[70, 55], [20, 20]]]  # the same, x -> 100 - x, by hand


def test_mirrored_pairs_flip_x_and_keep_the_judgement(tmp_path):
    from training.evaluation.agreement import mirrored_pairs

    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(pair(7, "cat", ("B", 3), ("B", 2), a=ELL, b=SQUARE)) + "\n")
    (p,) = load_pairs(path)
    (m,) = mirrored_pairs([p])
    assert (m.id, m.category, m.ratings, m.consensus, m.clear) == (p.id, p.category, p.ratings, "B", True)
    for got, want in zip(m.a, ELL_FLIPPED, strict=True):  # equal up to the axis: x + 100 == the hand flip
        np.testing.assert_allclose(got[:, 0] + 100, want[0])
        np.testing.assert_allclose(got[:, 1], want[1])


def test_mirror_run_scores_the_flipped_drawings(tmp_path):
    rows = [pair(1, "cat", ("A", 3), ("A", 3), a=ELL, b=SQUARE)]
    flipped = [pair(1, "cat", ("A", 3), ("A", 3), a=ELL_FLIPPED, b=SQUARE)]
    (tmp_path / "p.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (tmp_path / "f.jsonl").write_text(json.dumps(flipped[0]) + "\n")
    model = str(ROOT / "models" / "gacl")
    drawn = run(model, str(tmp_path / "p.jsonl"), str(tmp_path / "a"), figure_pairs=0)
    mirror = run(model, str(tmp_path / "p.jsonl"), str(tmp_path / "b"), figure_pairs=0, mirror=True)
    by_hand = run(model, str(tmp_path / "f.jsonl"), str(tmp_path / "c"), figure_pairs=0)
    q_m, q_h, q_d = (r["pair_scores"]["q"]["a"][0] for r in (mirror, by_hand, drawn))
    assert q_m == pytest.approx(q_h, rel=1e-5)
    assert abs(q_m - q_d) > 1e-3 * q_d  # the model does see the flip: the check above is not vacuous
    assert mirror["mirrored"] is True and drawn["mirrored"] is False
