"""The encoder-design study's report: per-run cost and accuracy from real (tiny) training runs."""

import json

import pytest

from sketchprep.preprocess import FEATURE_DIM, FEATURE_NAMES
from training.engine.checkpoints import load_net
from training.engine.config import TrainConfig
from training.engine.loop import train
from training.model import ENCODER_PRESETS, SketchQualityNet
from training.reports.cost_curve import run_curve, write_cost_report

CLASSES = ["circle", "cross", "zigzag"]  # the synthetic_folder fixture's classes


@pytest.fixture(scope="module")
def two_runs(synthetic_folder, tmp_path_factory):
    root = tmp_path_factory.mktemp("enc")
    for preset in ("conv-compact", "conv-compact-abs"):
        train(TrainConfig(data=[str(synthetic_folder)], categories=CLASSES, out_dir=str(root / preset),
                          preset=preset, head="softmax", epochs=2, batch_size=32, lr=3e-3, optimizer="adamw",
                          schedule="cosine"))
    return [root / "conv-compact", root / "conv-compact-abs"]


def test_curves_carry_the_run_cost_and_what_was_trained(two_runs):
    full, abs_only = run_curve(two_runs[0]), run_curve(two_runs[1])
    # the inputs named are the features the trained encoder really reads (its selection buffer)
    for run, curve in zip(two_runs, (full, abs_only), strict=True):
        index = load_net(run / "last.pt")[0].encoder.feature_index
        read = range(FEATURE_DIM) if index is None else index.tolist()
        assert curve["inputs"].split(", ") == [FEATURE_NAMES[i].replace("_", " ") for i in read]
    assert len(full["inputs"].split(", ")) == 7 and "dx" not in abs_only["inputs"].split(", ")
    for c, preset in ((full, "conv-compact"), (abs_only, "conv-compact-abs")):
        spec = ENCODER_PRESETS[preset]
        expected = sum(p.numel() for p in SketchQualityNet(spec.kind, spec.config, 3).encoder.parameters())
        assert c["params"] == expected and c["preset"] == preset
        assert len(c["cpu"]) == len(c["wall"]) == len(c["val_acc"]) == 2 and min(c["cpu"]) > 0
    assert abs_only["params"] < full["params"]  # two input channels fewer in the stem


def test_report_writes_a_row_per_run_and_the_figure(two_runs, tmp_path):
    text = write_cost_report(two_runs, tmp_path)
    rows = [x for x in text.splitlines() if x.startswith("| conv-compact")]
    assert len(rows) == 2 and (tmp_path / "accuracy_vs_cpu_time.png").stat().st_size > 10_000
    assert (tmp_path / "encoders.md").read_text() == text


def test_runs_without_cpu_time_are_refused(two_runs, tmp_path):
    run = tmp_path / "old"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"kind": "epoch", "epoch": 0, "val_acc": 0.5,
                                                   "epoch_seconds": 1.0}) + "\n")
    with pytest.raises(SystemExit, match="epoch_cpu_seconds"):
        run_curve(run)
