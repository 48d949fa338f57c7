"""`sketchq-train`: the command lines the scripts use still mean what they meant, and every option of every
command has a help text and a default (or is required)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from training.cli import COMMANDS, main, parse
from training.engine.config import TrainConfig
from training.losses.gacl import GACLConfig
from training.sketchrnn.loss import LossConfig
from training.sketchrnn.train import TrainConfig as SketchRNNTrainConfig


def help_entries(command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> dict:
    """--flag -> the help text printed for it (the box drawing and line wrapping removed)."""
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = re.sub(r"[\u2500-\u257f]", " ", capsys.readouterr().out)
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"\s*(--[a-z][a-z0-9-]*)(?:,\s*--no-[a-z0-9-]+)?(.*)", line)
        if m and m.group(1) != "--help":
            current = m.group(1)
            entries[current] = m.group(2)
        elif current is not None and not re.search(r"\((default: .*|required)\)\s*$", entries[current]):
            entries[current] += " " + line  # the entry goes on until its default
    return {k: " ".join(v.split()) for k, v in entries.items()}


def field_flags(options: type) -> set[str]:
    out = set()
    for f in dataclasses.fields(options):
        if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None):
            out |= field_flags(f.default_factory)
            continue
        if f.name in ("checkpoint", "model", "model_dir"):  # positional
            continue
        out.add({"out_dir": "--out", "kind": "--gacl-kind"}.get(f.name, "--" + f.name.replace("_", "-")))
    return out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_has_help_and_a_default(command, capsys, monkeypatch) -> None:
    entries = help_entries(command, capsys, monkeypatch)
    assert set(entries) == field_flags(COMMANDS[command][0])
    for flag, text in entries.items():
        assert re.search(r"\((default: .+|required)\)$", text), (flag, text)
        words = re.sub(r"\((default: .+|required)\)$", "", text)
        words = re.sub(r"^\s*(\{[^}]*\}(\|\{[^}]*\})*|[A-Z]+( \[[A-Z ]+\.*\]+)?|\[[A-Z \[\].]+\])", "", words)
        assert len(words.split()) >= 2, (flag, text)  # a real sentence, not only the metavar


def test_the_study_scripts_command_lines_parse_to_the_same_config() -> None:
    args = parse(["train", "--out", "runs/study/x", "--head", "gacl", "--gacl-kind", "cos", "--init-from", "v3.pt",
                  "--q-init-median", "0", "--ramp-steps", "0", "--lr", "3e-4", "--warmup-steps", "50", "--epochs", "2",
                  "--no-soft-binning", "--batch-size", "128", "--optimizer", "adamw", "--weight-decay", "1e-4",
                  "--schedule", "cosine", "--seed", "0", "--threads", "1", "--data", "d1", "d2", "--categories", "cat",
                  "dog", "--rank-weight", "4", "--rank-count", "64", "--rank-margin", "0.15", "--rank-kinds",
                  "jitter,drop,drop", "--rank-reference", "class", "--bin-temperature", "1.0", "--max-steps", "1542",
                  "--resume", "--s", "30", "--l-a", "5", "--l-m", "0.3", "--lambda-g", "200",
                  "--preset", "raster-small", "--rotate-degrees", "20", "--scale-range", "0.2", "--mirror-prob", "0.5"])
    assert args == TrainConfig(
        data=["d1", "d2"], categories=["cat", "dog"], out_dir="runs/study/x", preset="raster-small", head="gacl",
        gacl=GACLConfig(kind="cos", s=30.0, l_a=5.0, l_m=0.3, lambda_g=200.0), epochs=2, batch_size=128,
        optimizer="adamw", lr=3e-4, weight_decay=1e-4, schedule="cosine", warmup_steps=50, seed=0, threads=1,
        rank_weight=4.0, rank_margin=0.15, rank_count=64, rank_kinds="jitter,drop,drop", rank_reference="class",
        init_from="v3.pt", q_init_median=0.0, ramp_steps=0, soft_binning=False, bin_temperature=1.0,
        max_steps=1542, resume=True, rotate_degrees=20.0, scale_range=0.2, mirror_prob=0.5)
    # a kind chosen alone gets that kind's margins (the CLI default is no other kind's)
    assert parse(["train", "--out", "x", "--gacl-kind", "sca"]).gacl.margins == (0.1, 0.3)
    assert parse(["sketchrnn-train", "--out", "r", "--preset", "cpu", "--pad-to", "batch", "--threads", "1",
                  "--max-steps", "10000", "--max-minutes", "130", "--kl-weight", "0.4", "--lr", "2e-3"]) == \
        SketchRNNTrainConfig(out_dir="r", pad_to="batch", threads=1, max_steps=10000, max_minutes=130.0,
                             loss=LossConfig(kl_weight=0.4, lr=2e-3))
    ev = parse(["evaluate", "runs/x/last.pt", "--data", "d", "--split", "val", "--out", "e",
                "--corruption-sample", "10", "--pairs", "p.jsonl", "--auroc-categories", "eye", "mouth"])
    assert (ev.checkpoint, ev.split, ev.out, ev.corruption_sample, ev.pairs, ev.auroc_categories) == \
        ("runs/x/last.pt", "val", "e", 10, "p.jsonl", ["eye", "mouth"])
    study = parse(["agreement-study", "--runs", "runs/a", "runs/b", "--out", "o", "--reference", "control:a,b"])
    assert (study.runs, study.reference) == ([Path("runs/a"), Path("runs/b")], ["control:a,b"])
    ag = parse(["agreement", "models/gacl", "--baseline", "models/softmax", "--out", "o", "--write-card"])
    assert (ag.model, ag.baseline, ag.write_card, ag.figure_pairs) == ("models/gacl", "models/softmax", True, 12)


@pytest.mark.parametrize("argv", [["train"], ["sketchrnn-train"], ["export", "ck.pt", "--out", "m"],
                                  ["evaluate", "ck.pt"]])
def test_required_options_are_required(argv, capsys) -> None:
    with pytest.raises(SystemExit) as refused:
        parse(argv)
    assert refused.value.code == 2 and "--" in capsys.readouterr().err
