"""training.evaluation.paired_accuracy (sketchq-train compare-seeds): the paired accuracy statistics, and the
comparison on two tiny trained runs."""

import numpy as np
import pytest

from training.engine.config import TrainConfig
from training.engine.loop import train
from training.evaluation.paired_accuracy import compare, markdown, mcnemar_exact, paired_accuracy


def test_mcnemar_exact_matches_the_binomial_tail():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # 2 * P(X <= 0), X ~ Bin(5, 1/2)
    assert mcnemar_exact(9, 1) == pytest.approx(2 * 11 / 1024)  # symmetric in b and c


def test_paired_accuracy_counts_discordant_pairs_and_brackets_the_difference():
    rng = np.random.default_rng(0)
    a = rng.random(2000) < 0.8
    b = a.copy()
    flip = rng.choice(2000, 100, replace=False)
    b[flip] = ~b[flip]
    r = paired_accuracy(a, b)
    assert r["only_softmax_right"] == int((a & ~b).sum()) and r["only_gacl_right"] == int((b & ~a).sum())
    assert r["only_softmax_right"] + r["only_gacl_right"] == 100
    assert r["diff"] == pytest.approx(b.mean() - a.mean())
    assert r["ci95"][0] < r["diff"] < r["ci95"][1]
    assert r["ci95"][1] - r["ci95"][0] < 0.03  # only 100 of 2000 pairs differ


def test_compare_pairs_two_runs_of_one_seed(synthetic_folder, tmp_path):
    base = dict(data=[str(synthetic_folder)], categories=["circle", "cross", "zigzag"], batch_size=32,
                optimizer="adamw", schedule="cosine", lr=3e-3, epochs=1, max_steps=6, seed=3)
    train(TrainConfig(out_dir=str(tmp_path / "sm"), head="softmax", **base))
    train(TrainConfig(out_dir=str(tmp_path / "ga"), head="gacl", init_from=str(tmp_path / "sm" / "last.pt"),
                      ramp_steps=4, fail_on_collapse=False, **base))
    result = compare([(tmp_path / "sm", tmp_path / "ga")], [str(synthetic_folder)])
    (row,) = result["pairs"]
    assert row["seed"] == 3 and row["n"] > 0
    assert row["diff"] == pytest.approx(row["gacl_top1"] - row["softmax_top1"])
    assert result["mean_diff"] == pytest.approx(row["diff"])
    assert "| sm | ga |" in markdown(result)
    train(TrainConfig(out_dir=str(tmp_path / "ga4"), head="gacl", init_from=str(tmp_path / "sm" / "last.pt"),
                      ramp_steps=4, fail_on_collapse=False, **(base | {"seed": 4})))
    with pytest.raises(ValueError, match="seed"):
        compare([(tmp_path / "sm", tmp_path / "ga4")], [str(synthetic_folder)])
