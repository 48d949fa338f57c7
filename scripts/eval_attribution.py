"""Attribution evaluation on the test split (issue 4): malicious F1 with q alone and with stroke removal,
rare-and-hard recovery, precision/recall of removing the injected strokes, and (with --server) the
latency of POST /attribute against a running service by stroke count.

    python scripts/eval_attribution.py --model models/gacl-cos --data ../shared/data/quickdraw \
        --out docs/results/attribution.json [--server http://127.0.0.1:8000]

Thresholds are the model card's (calibrated on validation data by training/calibrate.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np

from sketchprep.attribution import Thresholds, attribute
from sketchprep.strokes import strokes_to_drawing
from training.attribution_set import build_attribution_set
from training.calibrate import OnnxScorer, f1
from training.data import load_splits


def evaluate(model_dir: Path, data: list[str], n: int, seed: int) -> tuple[dict, list]:
    scorer = OnnxScorer(model_dir)
    block = scorer.card["thresholds"]["attribution"]
    classes = scorer.card["classes"]
    per_class = block["per_class"]

    def thresholds(c: int) -> Thresholds:
        return Thresholds(per_class[classes[c]]["q_tau"], per_class[classes[c]]["q_max"])

    _, sets = load_splits(data, classes, scorer.pre, keep_records=True)
    cases = build_attribution_set([(r.strokes, r.category) for r in sets["test"].records], n, seed + 1)
    results = [asyncio.run(attribute(c.strokes, scorer.score, thresholds, block["max_removals"], block["min_gain"]))
               for c in cases]
    truth = [c.label for c in cases]
    q_alone = ["malicious" if r.quality < thresholds(r.class_index).q_tau else "benign" for r in results]
    with_removal = [r.verdict for r in results]
    rhs = [(c, r) for c, r in zip(cases, results, strict=True) if c.label == "rare_hard"]
    searched = [(c, r) for c, r in rhs if r.removed]
    tp = sum(len(set(r.removed) & set(c.injected)) for c, r in searched)
    n_removed = sum(len(r.removed) for _, r in searched)
    n_injected = sum(len(c.injected) for c, _ in searched)
    confusion = {t: {p: sum(a == t and b == p for a, b in zip(truth, with_removal, strict=True))
                     for p in ("benign", "rare_hard", "malicious")} for t in ("benign", "rare_hard", "malicious")}
    summary = {
        "cases_per_label": n, "split": "test",
        "malicious_f1_q_alone": f1(q_alone, truth), "malicious_f1_with_removal": f1(with_removal, truth),
        "rare_hard_recovered": float(np.mean([r.verdict != "malicious" for _, r in rhs])),
        "injected_removal_precision": tp / max(1, n_removed), "injected_removal_recall": tp / max(1, n_injected),
        "confusion_truth_to_verdict": confusion,
        "evaluations_mean": float(np.mean([r.evaluations for r in results])),
        "thresholds": {k: block[k] for k in ("percentiles", "max_removals", "min_gain")},
    }
    return summary, cases


def latency(server: str, cases: list, repeats: int = 1) -> dict:
    """POST /attribute per case (no cache: `"cache": false` is not part of the API, so each case is new)."""
    import httpx

    by_count: dict[str, list[float]] = {}
    with httpx.Client(base_url=server, timeout=60) as client:
        for c in cases:
            body = {"sketch": {"strokes": strokes_to_drawing(c.strokes, 2)}}
            t0 = time.perf_counter()
            r = client.post("/attribute", json=body)
            dt = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            if r.json()["cached"]:
                continue
            n = len(c.strokes)
            key = "1-5" if n <= 5 else "6-10" if n <= 10 else "11-20" if n <= 20 else "21+"
            by_count.setdefault(f"{c.label} {key} strokes", []).append(dt)
    return {k: {"n": len(v), "p50_ms": float(np.percentile(v, 50)), "p95_ms": float(np.percentile(v, 95))}
            for k, v in sorted(by_count.items())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/gacl-cos")
    p.add_argument("--data", nargs="+", default=["../shared/data/quickdraw"])
    p.add_argument("--n", type=int, default=300, help="cases per label")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--server", default=None, help="base URL of a running service for the latency part")
    p.add_argument("--out", default="docs/results/attribution.json")
    args = p.parse_args()
    summary, cases = evaluate(Path(args.model), args.data, args.n, args.seed)
    if args.server:
        summary["latency"] = latency(args.server, cases)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
