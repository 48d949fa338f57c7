"""Calibrate the attribution thresholds of an exported model and write them into its model card.

    python -m training.calibrate models/gacl-cos --data ../shared/data/quickdraw

Procedure (validation data only; the test split is kept for evaluation, scripts/eval_attribution.py):
1. Build an attribution set from the validation split (training.attribution_set): benign real sketches,
   malicious scribbles, rare-and-hard sketches (real + 1-3 outlier strokes), `n` of each.
2. Run the greedy stroke-removal search on every case once without thresholds (all removals that help,
   up to max_removals), keeping q after each removal. Whether a q_tau / q_max pair calls a case benign,
   rare_hard or malicious follows from that trajectory, so every pair is evaluated without searching again.
3. Thresholds are per class: q_tau = the a-th and q_max = the b-th percentile of the class's validation
   q (the card's quality_percentiles table, by predicted class). Grid-search a <= b over 0..95 in steps
   of 5 for the best F1 of the malicious class; write the per-class values, the chosen percentiles and the
   calibration F1 into thresholds.attribution.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from sketchprep.attribution import Thresholds, attribute
from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from training.attribution_set import AttributionCase, build_attribution_set
from training.data import load_splits

MAX_REMOVALS = 5
MIN_GAIN = 0.5  # q must rise by more than this for a removal to count (q units; q spans ~10-110)


class OnnxScorer:
    """Scores stroke lists with an exported model (the service's preprocessing, in process)."""

    def __init__(self, model_dir: Path):
        self.card = json.loads((model_dir / "model_card.json").read_text())
        self.pre = PreprocessConfig.from_dict(self.card["preprocess"])
        opts = ort.SessionOptions()
        self.sess = ort.InferenceSession(str(model_dir / self.card["onnx"]["file"]), opts,
                                         providers=["CPUExecutionProvider"])

    def score_now(self, sketches) -> list[tuple[float, int]]:
        x, lens = collate([sketch_to_points(s, self.pre) for s in sketches])
        q, _, pred = self.sess.run(None, {"points": x, "lengths": lens})
        return [(float(a), int(b)) for a, b in zip(q, pred, strict=True)]

    async def score(self, sketches) -> list[tuple[float, int]]:
        return self.score_now(sketches)

    def percentile_q(self, class_index: int, level: float) -> float:
        table = self.card["quality_percentiles"]["per_class"][self.card["classes"][class_index]]
        return float(np.interp(level, self.card["quality_percentiles"]["levels"], table))


def trajectories(scorer: OnnxScorer, cases: list[AttributionCase], max_removals: int = MAX_REMOVALS,
                 min_gain: float = MIN_GAIN) -> list[dict]:
    """Full search per case (no thresholds): q0, predicted class, best q reached after each removal."""
    never = Thresholds(q_tau=float("inf"), q_max=float("inf"))
    out = []
    for c in cases:
        r = asyncio.run(attribute(c.strokes, scorer.score, lambda _: never, max_removals, min_gain))
        out.append({"q0": r.quality, "cls": r.class_index, "best": [r.quality, *r.trajectory]})
    return out


def verdicts(traj: list[dict], q_tau: np.ndarray, q_max: np.ndarray) -> list[str]:
    """q_tau, q_max: (C,) per class thresholds -> verdict per case."""
    out = []
    for t in traj:
        c = t["cls"]
        if t["q0"] >= q_tau[c]:
            out.append("benign")
        else:
            out.append("rare_hard" if max(t["best"]) >= q_max[c] else "malicious")
    return out


def f1(pred: list[str], truth: list[str], positive: str = "malicious") -> float:
    tp = sum(p == positive and t == positive for p, t in zip(pred, truth, strict=True))
    fp = sum(p == positive and t != positive for p, t in zip(pred, truth, strict=True))
    fn = sum(p != positive and t == positive for p, t in zip(pred, truth, strict=True))
    return 2 * tp / max(1, 2 * tp + fp + fn)


def per_class_thresholds(scorer: OnnxScorer, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    n = len(scorer.card["classes"])
    return (np.array([scorer.percentile_q(c, a) for c in range(n)]),
            np.array([scorer.percentile_q(c, b) for c in range(n)]))


def calibrate(model_dir: Path, data: list[str], n: int, seed: int) -> dict:
    scorer = OnnxScorer(model_dir)
    _, sets = load_splits(data, scorer.card["classes"], scorer.pre, keep_records=True)
    real = [(r.strokes, r.category) for r in sets["val"].records]
    cases = build_attribution_set(real, n, seed)
    traj = trajectories(scorer, cases)
    truth = [c.label for c in cases]
    best = (-1.0, 0, 0)
    for a in range(0, 96, 5):
        for b in range(a, 96, 5):
            score = f1(verdicts(traj, *per_class_thresholds(scorer, a, b)), truth)
            if score > best[0]:
                best = (score, a, b)
    score, a, b = best
    q_tau, q_max = per_class_thresholds(scorer, a, b)
    classes = scorer.card["classes"]
    q_all = [t["q0"] for t, c in zip(traj, cases, strict=True) if c.label == "benign"]
    block = {
        "q_tau": float(np.percentile(q_all, a)), "q_max": float(np.percentile(q_all, b)),
        "per_class": {c: {"q_tau": float(q_tau[i]), "q_max": float(q_max[i])} for i, c in enumerate(classes)},
        "percentiles": {"q_tau": a, "q_max": b}, "max_removals": MAX_REMOVALS, "min_gain": MIN_GAIN,
        "calibration": {"split": "val", "cases_per_label": n, "seed": seed, "malicious_f1": score},
        "procedure": "per-class percentiles of validation q chosen by grid search for the best malicious F1 "
                     "on a validation attribution set (training/calibrate.py)",
    }
    card = dict(scorer.card)
    card["thresholds"] = {**card["thresholds"], "attribution": block}
    (model_dir / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
    return block


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("--data", nargs="+", default=["../shared/data/quickdraw"])
    p.add_argument("--n", type=int, default=300, help="cases per label")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    block = calibrate(Path(args.model_dir), args.data, args.n, args.seed)
    print(json.dumps({k: v for k, v in block.items() if k != "per_class"}, indent=1))


if __name__ == "__main__":
    main()
