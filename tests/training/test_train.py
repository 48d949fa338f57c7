"""A few training steps on tiny synthetic sketches: loss falls, q stays finite, resume, collapse, CLI."""

import json

import numpy as np
import pytest
import torch

from sketchprep.preprocess import PreprocessConfig
from training.cli import main as cli_main
from training.data.splits import load_splits
from training.engine.checkpoints import load_net
from training.engine.collapse import feature_health
from training.engine.config import TrainConfig
from training.engine.loop import train
from training.engine.predict import predict
from training.engine.schedule import lr_factor, soft_bins_for_epoch

CLASSES = ["circle", "cross", "zigzag"]  # the synthetic_folder fixture's classes


def small_config(folder, out, **kw) -> TrainConfig:
    base = dict(data=[str(folder)], categories=CLASSES, out_dir=str(out), preset="conv-compact",
                batch_size=32, lr=3e-3, optimizer="adamw", schedule="cosine", log_every=1, augment=True)
    base.update(kw)
    return TrainConfig(**base)


def step_losses(out) -> list[float]:
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [x["loss"] for x in lines if x["kind"] == "step"]


def test_softmax_steps_lower_the_loss(synthetic_folder, tmp_path):
    summary = train(small_config(synthetic_folder, tmp_path / "sm", head="softmax", epochs=2))
    losses = step_losses(tmp_path / "sm")
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.2
    assert summary["val_acc"] > 0.6  # three easy classes
    assert (tmp_path / "sm" / "epoch_000.pt").exists() and (tmp_path / "sm" / "last.pt").exists()


def test_gacl_fine_tune_keeps_q_finite_inside_the_range_and_lowers_the_loss(synthetic_folder, tmp_path):
    train(small_config(synthetic_folder, tmp_path / "sm", head="softmax", epochs=2))
    cfg = small_config(synthetic_folder, tmp_path / "gacl", head="gacl", epochs=2, lr=1e-3,
                       init_from=str(tmp_path / "sm" / "last.pt"), q_init_median=60.0, ramp_steps=8,
                       soft_bins_hold=1, soft_bins_ramp=1)
    summary = train(cfg)
    losses = step_losses(tmp_path / "gacl")
    assert all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < np.mean(losses[8:11])  # after the ramp has reached full GACL
    assert 10.0 <= summary["q_median"] <= 110.0
    assert not summary["collapsed"]
    epochs = [json.loads(x) for x in (tmp_path / "gacl" / "metrics.jsonl").read_text().splitlines()
              if '"epoch"' in x and '"kind": "epoch"' in x]
    assert [e["soft_bins"] for e in epochs] == [5, 20]
    # the encoder-design study plots accuracy against the process's CPU time, not only the wall time
    assert all(e["epoch_cpu_seconds"] > 0 for e in epochs)


@pytest.mark.parametrize("q_init_median", [60.0, None])
def test_gacl_from_scratch_starts_q_inside_the_range_only_when_scaled(synthetic_folder, tmp_path, q_init_median):
    # pilot 1: from scratch, unscaled q starts far below l_a = 10 and the 1/q regulariser takes over
    cfg = small_config(synthetic_folder, tmp_path / "g", head="gacl", epochs=1, max_steps=2,
                       q_init_median=q_init_median, ramp_steps=8, fail_on_collapse=False)
    train(cfg)
    steps = [json.loads(x) for x in (tmp_path / "g" / "metrics.jsonl").read_text().splitlines()
             if '"kind": "step"' in x]
    first_q = steps[0]["q_mean"]
    if q_init_median:
        assert 30.0 <= first_q <= 110.0
    else:
        assert first_q < 10.0


def test_degradation_ranking_logs_its_loss_and_lowers_it(synthetic_folder, tmp_path):
    train(small_config(synthetic_folder, tmp_path / "sm", head="softmax", epochs=2))
    cfg = small_config(synthetic_folder, tmp_path / "rank", head="gacl", epochs=3, lr=1e-3,
                       init_from=str(tmp_path / "sm" / "last.pt"), q_init_median=60.0, ramp_steps=4,
                       soft_binning=False, rank_weight=2.0, rank_margin=0.2, rank_count=16)
    summary = train(cfg)
    steps = [json.loads(x) for x in (tmp_path / "rank" / "metrics.jsonl").read_text().splitlines()
             if '"kind": "step"' in x]
    ranks = [s["rank"] for s in steps]
    assert all(np.isfinite(ranks)) and ranks[0] > 0
    assert np.mean(ranks[-4:]) < np.mean(ranks[:4])
    assert 10.0 <= summary["q_median"] <= 110.0 and not summary["collapsed"]


def test_resume_continues_from_the_last_epoch(synthetic_folder, tmp_path):
    out = tmp_path / "run"
    train(small_config(synthetic_folder, out, head="softmax", epochs=1))
    with pytest.raises(FileExistsError):
        train(small_config(synthetic_folder, out, head="softmax", epochs=2))
    summary = train(small_config(synthetic_folder, out, head="softmax", epochs=2, resume=True))
    assert summary["epoch"] == 1
    lines = (out / "metrics.jsonl").read_text().splitlines()
    epochs = [json.loads(x)["epoch"] for x in lines if '"kind": "epoch"' in x]
    assert epochs == [0, 1]


def test_collapse_detector_flags_a_collapsed_model_and_passes_a_healthy_one():
    rng = torch.Generator().manual_seed(0)
    healthy = torch.relu(torch.randn(500, 64, generator=rng)) * torch.rand(500, 1, generator=rng) * 50
    assert not feature_health(healthy)["collapsed"]
    # pilot 1's collapse: one saturated direction, q = 22.3 for every sketch
    direction = torch.nn.functional.normalize(torch.rand(64, generator=rng), dim=0)
    collapsed = 22.3 * direction.repeat(500, 1) + 1e-4 * torch.randn(500, 64, generator=rng)
    h = feature_health(collapsed)
    assert h["collapsed"] and h["mean_pairwise_cos"] > 0.99
    # same direction but varied q is also caught (collinear features carry no class information)
    assert feature_health(collapsed * torch.rand(500, 1, generator=rng))["collapsed"]


def test_schedules():
    cfg = TrainConfig(epochs=20, soft_bins_hold=5, soft_bins_ramp=5, head="gacl")
    bins = [soft_bins_for_epoch(cfg, e) for e in range(12)]
    assert bins[:5] == [5] * 5 and bins[9] == 20 and bins[10] is None
    assert all(a <= b for a, b in zip(bins[4:9], bins[5:10], strict=True))
    assert soft_bins_for_epoch(TrainConfig(head="gacl", soft_binning=False), 0) is None
    restarts = TrainConfig(schedule="restarts", warmup_steps=0)
    assert lr_factor(restarts, 0, 100) == pytest.approx(1.0) and lr_factor(restarts, 100, 100) == pytest.approx(1.0)
    assert lr_factor(restarts, 50, 100) == pytest.approx(0.5)


def test_cli_train_evaluate_export_end_to_end(synthetic_folder, tmp_path):
    run = tmp_path / "cli"
    assert cli_main(["train", "--data", str(synthetic_folder), "--out", str(run), "--head", "gacl",
                     "--epochs", "1", "--batch-size", "32", "--q-init-median", "60", "--ramp-steps", "4",
                     "--max-steps", "6", "--no-soft-binning"]) == 0
    ev = tmp_path / "eval"
    assert cli_main(["evaluate", str(run / "last.pt"), "--data", str(synthetic_folder), "--out", str(ev),
                     "--auroc-categories", "circle", "zigzag", "--corruption-sample", "20"]) == 0
    result = json.loads((ev / "evaluation.json").read_text())
    # top-1 is the trained network's accuracy on the test split, recomputed here from the checkpoint
    net, ck = load_net(run / "last.pt")
    _, sets = load_splits([str(synthetic_folder)], ck["classes"], PreprocessConfig.from_dict(ck["preprocess"]))
    _, cos = predict(net, sets["test"])
    right = cos.argmax(1).numpy() == np.asarray(sets["test"].labels)
    assert result["summary"]["n"] == len(right) > 0
    assert result["summary"]["top1"] == pytest.approx(float(right.mean()), abs=1e-12)
    assert (ev / "q_vs_theta.png").stat().st_size > 1000
    model = tmp_path / "model"
    assert cli_main(["export", str(run / "last.pt"), "--data", str(synthetic_folder), "--out", str(model),
                     "--name", "t", "--evaluation", str(ev / "evaluation.json")]) == 0
    card = json.loads((model / "model_card.json").read_text())
    assert card["classes"] == CLASSES and card["head"] == "gacl"
    assert card["metrics"]["top1"] == result["summary"]["top1"]
    table = card["quality_percentiles"]["per_class"]["circle"]
    assert len(table) == 101 and table == sorted(table)


def test_cli_refuses_lambda_below_its_bound(synthetic_folder, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        cli_main(["train", "--data", str(synthetic_folder), "--out", str(tmp_path / "x"), "--lambda-g", "10"])
    message = " ".join(capsys.readouterr().err.replace("\u2502", " ").split())  # tyro's box, unwrapped
    assert refused.value.code == 2 and "below its lower bound" in message
    assert not (tmp_path / "x").exists()  # refused before any work


def test_init_from_fewer_classes_copies_shared_centres_and_imprints_new_ones(synthetic_folder, tmp_path):
    train(small_config(synthetic_folder, tmp_path / "two", head="softmax", epochs=1,
                       categories=["circle", "zigzag"]))
    two = torch.load(tmp_path / "two" / "last.pt", weights_only=False)
    cfg = small_config(synthetic_folder, tmp_path / "three", head="gacl", epochs=1, lr=1e-9, warmup_steps=0,
                       init_from=str(tmp_path / "two" / "last.pt"), q_init_median=None, max_steps=1,
                       augment=False)
    train(cfg)
    three = torch.load(tmp_path / "three" / "last.pt", weights_only=False)
    assert three["classes"] == CLASSES
    c2, c3 = two["model"]["centres"], three["model"]["centres"]
    torch.testing.assert_close(c3[0], c2[0], atol=1e-6, rtol=0)  # circle
    torch.testing.assert_close(c3[2], c2[1], atol=1e-6, rtol=0)  # zigzag
    # the new class (cross) is imprinted: its centre points where cross sketches' features point
    net, _ = load_net(tmp_path / "three" / "last.pt")
    _, sets = load_splits([str(synthetic_folder)], CLASSES, PreprocessConfig())
    _, cos = predict(net, sets["val"])
    labels = torch.as_tensor(sets["val"].labels)
    assert float(cos[labels == 1, 1].mean()) > float(cos[labels != 1, 1].mean()) + 0.05


def test_init_from_more_classes_is_refused(synthetic_folder, tmp_path):
    train(small_config(synthetic_folder, tmp_path / "three", head="softmax", epochs=1, max_steps=1))
    with pytest.raises(ValueError, match="classes this run lacks"):
        train(small_config(synthetic_folder, tmp_path / "two", head="gacl", epochs=1, max_steps=1,
                           categories=["circle", "zigzag"], init_from=str(tmp_path / "three" / "last.pt")))


def test_foreign_stroke_ranking_survives_a_last_batch_smaller_than_the_rank_count(synthetic_folder, tmp_path):
    """rank_count >= the batch (the short last batch of an epoch): the donors of foreign strokes are then the
    batch itself (an empty donor list crashed the study's first runs with 'high <= 0')."""
    train(small_config(synthetic_folder, tmp_path / "sm", head="softmax", epochs=1, max_steps=2))
    cfg = small_config(synthetic_folder, tmp_path / "g", head="gacl", epochs=1, batch_size=16,
                       init_from=str(tmp_path / "sm" / "last.pt"), q_init_median=60.0, max_steps=3,
                       rank_weight=1.0, rank_count=16, rank_kinds="add,prefix")
    summary = train(cfg)
    assert np.isfinite(summary["train_loss"])
