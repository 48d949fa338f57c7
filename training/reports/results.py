"""Compare evaluated runs and write the results tables and figures for models/README.md.

    sketchq-train report --runs runs/softmax runs/gacl-cos runs/gacl-cos-nobin \
        --baseline softmax --out docs/results

Reads each run's metrics.jsonl and eval/ (from `sketchq-train evaluate`); writes results.md,
training_curves.png and each run's q-vs-theta plot. The paired bootstrap compares every run's q with the
baseline's max probability on the same recognized-vs-unrecognized sketches.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.engine.checkpoints import METRICS_FILE, load_checkpoint, read_jsonl
from training.engine.predict import SCORES
from training.evaluation.stats import paired_bootstrap_auroc_diff
from training.plots import plot_training_curves


@dataclass
class ReportArgs:
    runs: list[str]
    """evaluated run folders (each with metrics.jsonl, last.pt and eval/ from sketchq-train evaluate)"""
    baseline: str
    """name (folder) of the softmax run the others are compared with"""
    out: str
    """folder for results.md, training_curves.png and the q-vs-theta plots"""


def run_cli(args: ReportArgs) -> int:
    print(write_report([Path(r) for r in args.runs], args.baseline, Path(args.out)))
    return 0


def epoch_records(run: Path) -> list[dict]:
    return read_jsonl(run / METRICS_FILE, "epoch")


def start_offset(run: Path) -> float:
    """Seconds of the run this one started from (`init_from`, through that checkpoint's epoch)."""
    init = load_checkpoint(run / "last.pt")["config"].get("init_from")
    if not init:
        return 0.0
    parent = load_checkpoint(init)
    parent_run = Path(init).parent
    return start_offset(parent_run) + sum(e["epoch_seconds"] for e in epoch_records(parent_run)
                                          if e["epoch"] <= parent["epoch"])


def load(run: Path) -> dict:
    ev = json.loads((run / "eval" / "evaluation.json").read_text())
    scores = np.load(run / "eval" / "scores.npz")
    epochs = epoch_records(run)
    offset = start_offset(run)
    return {"eval": ev, "scores": scores, "epochs": epochs, "offset": offset,
            "train_seconds": offset + sum(e["epoch_seconds"] for e in epochs)}


def write_report(runs: list[Path], baseline: str, out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    data = {r.name: load(r) for r in runs}
    base = data[baseline]
    lines = ["| run | top-1 (test) | AUROC q | AUROC max_prob | AUROC max_cos | q p5 / median / p95 | training time |",
             "|---|---|---|---|---|---|---|"]
    for name, d in data.items():
        s = d["eval"]["summary"]
        a = s["auroc_recognized"]["test"]
        secs = d["train_seconds"]
        lines.append(f"| {name} | {s['top1']:.4f} | {a['q']:.3f} | {a['max_prob']:.3f} | {a['max_cos']:.3f} | "
                     f"{s['q']['p5']:.1f} / {s['q']['median']:.1f} / {s['q']['p95']:.1f} | {secs / 60:.1f} min |")
    lines += ["", "AUROC, recognized vs unrecognized (eye, mouth, monkey), per split and class:", "",
              "| run | group | unrecognized | q | max_prob | max_cos |", "|---|---|---|---|---|---|"]
    for name, d in data.items():
        for split in ("test", "val+test"):
            for g, v in d["eval"]["auroc_recognized"][split].items():
                if isinstance(v, dict) and "q" in v:
                    lines.append(f"| {name} | {g} ({split}) | {v['n_unrecognized']} | {v['q']:.3f} | "
                                 f"{v['max_prob']:.3f} | {v['max_cos']:.3f} |")
    lines += ["", "Paired bootstrap (2000 resamples of the val+test eye/mouth/monkey sketches): AUROC of each run's q "
              f"minus the {baseline} baseline's max probability and feature norm:", "",
              "| run | vs baseline max_prob | vs baseline norm |", "|---|---|---|"]
    pos = base["scores"]["auroc_recognized"].astype(bool)
    for name, d in data.items():
        if name == baseline:
            continue
        q = d["scores"]["auroc_q"]
        a = paired_bootstrap_auroc_diff(q, base["scores"]["auroc_max_prob"], pos)
        b = paired_bootstrap_auroc_diff(q, base["scores"]["auroc_q"], pos)
        lines.append(f"| {name} | {a['diff']:+.3f} [{a['ci95'][0]:+.3f}, {a['ci95'][1]:+.3f}] | "
                     f"{b['diff']:+.3f} [{b['ci95'][0]:+.3f}, {b['ci95'][1]:+.3f}] |")
    lines += ["", "Corruptions (1000 test sketches, severities 1-3 nested): fraction whose score falls at every "
              "step, and in brackets the fraction below the clean sketch's score at severity 3:", "",
              "| run | corruption | q | max_prob | max_cos |", "|---|---|---|---|---|"]
    for name, d in data.items():
        for kind, v in d["eval"]["summary"]["corruption"].items():
            lines.append(f"| {name} | {kind} | " + " | ".join(
                f"{v[k]['monotone']:.3f} ({v[k]['below_clean_at_3']:.3f})" for k in SCORES) + " |")
    curves = {name: (r / METRICS_FILE, data[name]["offset"]) for name, r in zip(data, runs, strict=True)}
    plot_training_curves(curves, out / "training_curves.png")
    for name, r in zip(data, runs, strict=True):
        shutil.copy(r / "eval" / "q_vs_theta.png", out / f"q_vs_theta_{name}.png")
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    return text
