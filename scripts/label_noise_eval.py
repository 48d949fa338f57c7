"""Label cleansing validated like the paper's Fig. 11 (issue 15), on the TEST split (the thresholds were
calibrated on the validation split by `sketchq-train calibrate-labels`):

- flip 10 %, 20 % and 40 % of the test labels to other categories (uniformly, seeds 0..SEEDS-1), and report the
  precision and recall of the card's rule (sketchprep.label_rule, as POST /score and `sketchq clean` apply it)
  at finding the flipped ones, mean and range over the seeds;
- the precision-recall curve of the rule with theta_suspect swept (q_min as in the card), one line per noise
  level, to a PNG;
- the share of the clean test split (true labels) that the rule flags, and that q_reject rejects.

    .venv/bin/python scripts/label_noise_eval.py --model models/gacl --data ../shared/data/quickdraw \
        --out docs/results/label_noise.json --png docs/results/label_noise_pr.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sketchprep.card import ModelCard  # noqa: E402
from training.evaluation.label_noise import flagged, flip, pr_curve, precision_recall, score_split  # noqa: E402

NOISE = (0.1, 0.2, 0.4)
THETAS = np.round(np.arange(0.3, 2.01, 0.05), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("models/gacl"))
    ap.add_argument("--data", nargs="+", default=["../shared/data/quickdraw"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("docs/results/label_noise.json"))
    ap.add_argument("--png", type=Path, default=Path("docs/results/label_noise_pr.png"))
    args = ap.parse_args()
    check = ModelCard.load(args.model).thresholds.label_check
    s = score_split(args.model, args.data, "test")
    result: dict = {"model": str(args.model), "split": "test", "n": int(len(s.q)), "seeds": args.seeds,
                    "thresholds": {"q_min": check.q_min, "theta_suspect": check.theta_suspect,
                                   "q_reject": check.q_reject},
                    "top1": float((s.pred == s.labels).mean()), "noise": {}}
    fig, ax = plt.subplots(figsize=(5.2, 4.2), dpi=120)
    for f in NOISE:
        ps, rs, curves = [], [], []
        for seed in range(args.seeds):
            claimed, truth = flip(s.labels, f, len(s.classes), 1000 + seed)  # seeds apart from calibration's
            p, r = precision_recall(flagged(s, claimed, check), truth)
            ps.append(p), rs.append(r)
            curves.append(pr_curve(s, claimed, truth, check, THETAS))
        curve = np.mean(np.array(curves), axis=0)  # (len(THETAS), 3): theta, precision, recall
        result["noise"][f"{round(100 * f)}%"] = {
            "precision": float(np.mean(ps)), "precision_range": [min(ps), max(ps)],
            "recall": float(np.mean(rs)), "recall_range": [min(rs), max(rs)],
            "curve": [{"theta_suspect": float(t), "precision": float(p), "recall": float(r)} for t, p, r in curve]}
        shown = curve[curve[:, 2] > 0]  # precision is undefined where nothing is flagged
        line, = ax.plot(shown[:, 2], shown[:, 1], marker=".", label=f"{round(100 * f)} % flipped")
        ax.plot([np.mean(rs)], [np.mean(ps)], marker="o", markersize=9, color=line.get_color(),
                markerfacecolor="none")
    clean = flagged(s, s.labels, check)
    result["clean_flagged"] = float(clean.mean())
    result["clean_rejected"] = float((s.q < check.q_reject).mean()) if check.q_reject is not None else 0.0
    ax.set_xlabel("recall (flipped labels found)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02), ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"label noise on the test split (n={len(s.q)}): theta_suspect swept\n"
                 f"circles: the card's thresholds (theta_suspect={check.theta_suspect:.2f})", fontsize=9)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    summary = {k: {m: round(v[m], 3) for m in ("precision", "recall")} for k, v in result["noise"].items()}
    print(json.dumps({"n": result["n"], "noise": summary, "clean_flagged": round(result["clean_flagged"], 4),
                      "clean_rejected": round(result["clean_rejected"], 4)}, indent=1))


if __name__ == "__main__":
    main()
