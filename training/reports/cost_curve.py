"""Accuracy against training cost for a set of runs (the encoder-design study, scripts/encoder_study.sh).

    sketchq-train cost-curve --runs runs/enc-conv-compact runs/enc-bilstm-small --out docs/results/encoders

Reads each run's metrics.jsonl (validation top-1, wall and process CPU seconds per epoch) and last.pt (the
encoder: preset, input features, parameter count); writes encoders.md (a table) and
accuracy_vs_cpu_time.png (validation top-1 against cumulative CPU time and wall time).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sketchprep.preprocess import FEATURE_DIM, FEATURE_NAMES
from training.engine.checkpoints import load_checkpoint
from training.plots import plot_accuracy_vs_cost
from training.reports.results import epoch_records


@dataclass
class CostCurveArgs:
    runs: list[str]
    """run folders of the encoder-design study (metrics.jsonl with CPU time per epoch, last.pt)"""
    out: str
    """folder for encoders.md and accuracy_vs_cpu_time.png"""


def run_cli(args: CostCurveArgs) -> int:
    print(write_cost_report([Path(r) for r in args.runs], Path(args.out)))
    return 0


def run_curve(run: Path) -> dict:
    """One run's per-epoch curve and what it trained: preset, inputs, parameter count."""
    epochs = epoch_records(run)
    if not epochs or "epoch_cpu_seconds" not in epochs[0]:
        raise SystemExit(f"{run}: no epoch records with epoch_cpu_seconds (trained before they were logged)")
    ck = load_checkpoint(run / "last.pt")
    features = ck["encoder"]["config"].get("input_features") or range(FEATURE_DIM)
    return {"preset": ck["config"]["preset"], "kind": ck["encoder"]["kind"],
            "inputs": ", ".join(FEATURE_NAMES[i].replace("_", " ") for i in features),
            "params": sum(v.numel() for k, v in ck["model"].items() if k.startswith("encoder.")),
            "cpu": [e["epoch_cpu_seconds"] for e in epochs], "wall": [e["epoch_seconds"] for e in epochs],
            "val_acc": [e["val_acc"] for e in epochs]}


def write_cost_report(runs: list[Path], out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    curves = {r.name: run_curve(r) for r in runs}
    lines = ["| run | encoder | inputs | encoder parameters | epochs | CPU s / epoch | wall s / epoch | "
             "validation top-1 after each epoch |", "|---|---|---|---|---|---|---|---|"]
    for name, c in curves.items():
        accs = " / ".join(f"{a:.3f}" for a in c["val_acc"])
        lines.append(f"| {name} | {c['preset']} ({c['kind']}) | {c['inputs']} | {c['params'] / 1e6:.2f}M | "
                     f"{len(c['val_acc'])} | {np.median(c['cpu']):.0f} | {np.median(c['wall']):.0f} | {accs} |")
    plot_accuracy_vs_cost(curves, out / "accuracy_vs_cpu_time.png")
    text = "\n".join(lines) + "\n"
    (out / "encoders.md").write_text(text)
    return text
