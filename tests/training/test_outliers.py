"""Outlier exposure (training.data.outliers, training.losses.outlier): the pool holds only the training split of
the categories not trained on, the hinge pushes only the outliers, and a short training with it lowers the
q of another category's drawings against the trained ones, where the same training without it does not."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_train import small_config

from sketchprep.formats import read_records
from sketchprep.preprocess import PreprocessConfig, sketch_to_points
from sketchprep.split import split_of
from training.data.outliers import OutlierPool
from training.engine.checkpoints import load_net, probability_scale
from training.engine.loop import train
from training.engine.predict import score_strokes
from training.losses.outlier import outlier_loss

TRAINED = ["circle", "cross"]  # zigzag, the synthetic folder's third class, is the outlier category


def test_pool_holds_the_training_split_of_the_other_categories_only(synthetic_folder) -> None:
    pre = PreprocessConfig()
    pool = OutlierPool.load([synthetic_folder], TRAINED, pre)
    expected = [sketch_to_points(r.strokes, pre) for r in read_records([synthetic_folder], ["zigzag"])
                if split_of(r.strokes) == "train"]
    assert pool.categories == ["zigzag"]
    assert 0 < len(pool) == len(expected) < 120
    assert all(np.array_equal(a, b) for a, b in zip(pool.points, expected, strict=True))


def test_pool_refuses_data_without_another_category(synthetic_folder) -> None:
    with pytest.raises(ValueError, match="no outlier drawings"):
        OutlierPool.load([synthetic_folder], ["circle", "cross", "zigzag"], PreprocessConfig())


def test_sample_draws_distinct_drawings_padded_to_the_longest(synthetic_folder) -> None:
    pool = OutlierPool.load([synthetic_folder], TRAINED, PreprocessConfig())
    x, lengths = pool.sample(8, np.random.default_rng(0))
    assert x.shape[0] == lengths.shape[0] == 8 and x.shape[1] == int(lengths.max()) and x.shape[2] == 7
    rows = {x[i, : lengths[i]].numpy().tobytes() for i in range(8)}
    assert len(rows) == 8
    assert all(any(np.array_equal(x[i, : lengths[i]].numpy(), p) for p in pool.points) for i in range(8))


def test_outlier_hinge_is_on_log_q_below_the_clean_mean_and_pushes_only_outliers() -> None:
    q_clean = torch.tensor([20.0, 80.0], requires_grad=True)  # mean log q = log 40
    q_out = torch.tensor([40.0 * np.exp(-1.0), 40.0, 10.0], requires_grad=True)
    loss = outlier_loss(q_clean, q_out, margin=0.5)
    # log 40 - 1 is 0.5 below the margin line (no loss), log 40 sits 0.5 above, log 10 is below it
    assert loss.item() == pytest.approx(0.5 / 3, rel=1e-6)
    loss.backward()
    assert q_clean.grad is None or torch.all(q_clean.grad == 0)
    assert q_out.grad[1] > 0 and q_out.grad[0] == 0 and q_out.grad[2] == 0


def mean_log_q(run, folder, category: str) -> float:
    net, ck = load_net(run / "last.pt")
    strokes = [r.strokes for r in read_records([folder], [category]) if split_of(r.strokes) != "train"]
    pre = PreprocessConfig.from_dict(ck["preprocess"])
    return float(np.log(score_strokes(net, strokes, pre, probability_scale(ck))["q"]).mean())


def test_outlier_exposure_lowers_another_categorys_q(synthetic_folder, tmp_path) -> None:
    sm = tmp_path / "sm"
    train(small_config(synthetic_folder, sm, categories=TRAINED, head="softmax", epochs=2))
    gaps = {}
    for name, extra in (("plain", {}), ("oe", dict(outlier_count=16, outlier_weight=4.0, outlier_margin=1.0))):
        run = tmp_path / name
        train(small_config(synthetic_folder, run, categories=TRAINED, head="gacl", epochs=3, lr=1e-3,
                           init_from=str(sm / "last.pt"), q_init_median=60.0, soft_binning=False, **extra))
        clean = np.mean([mean_log_q(run, synthetic_folder, c) for c in TRAINED])
        gaps[name] = clean - mean_log_q(run, synthetic_folder, "zigzag")
        if name == "oe":
            steps = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if '"step"' in x]
            hinge = [s["outlier"] for s in steps if "outlier" in s]
            assert hinge and np.mean(hinge[-3:]) < np.mean(hinge[:3])
    assert gaps["oe"] > gaps["plain"] + 1.0, gaps


def test_sample_by_length_stays_within_the_batch_length(synthetic_folder) -> None:
    pool = OutlierPool.load([synthetic_folder], TRAINED, PreprocessConfig())
    lengths = sorted(len(p) for p in pool.points)
    cap = lengths[len(lengths) // 2]  # half the pool is eligible
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(20):
        x, lens = pool.sample(8, rng, max_length=cap)
        assert int(lens.max()) <= cap and x.shape[1] <= cap
        seen.update(int(v) for v in lens)
    assert len(seen) > 1  # still random among the eligible ones
    _, lens = pool.sample(8, rng, max_length=0)  # none short enough: the 8 shortest
    assert sorted(int(v) for v in lens) == lengths[:8]
