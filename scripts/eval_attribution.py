"""Attribution evaluation on the test split (issue 4): malicious F1 with q alone and with stroke removal,
rare-and-hard recovery, precision/recall of removing the injected strokes, and (with --server) the
latency of POST /attribute against a running service by stroke count.

    python scripts/eval_attribution.py --model models/gacl --data ../shared/data/quickdraw \
        --out docs/results/attribution.json [--server http://127.0.0.1:8000]

The rule and its parameters are the model card's (calibrated on validation data by `sketchq-train calibrate`);
the paper's q rule (per-class q_tau / q_max from the same calibration) is run on the same cases for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np

from sketchprep.attribution import attribute, card_rules
from sketchprep.strokes import strokes_to_drawing
from training.data.attribution_set import build_attribution_set
from training.data.splits import load_splits
from training.export.calibrate_attribution import f1
from training.export.runtime import OnnxScorer


def injected_removal(pairs: list) -> tuple[float, float]:
    """Precision and recall of removing the injected strokes, over (case, result) pairs with removals."""
    searched = [(c, r) for c, r in pairs if r.removed]
    tp = sum(len(set(r.removed) & set(c.injected)) for c, r in searched)
    return (tp / max(1, sum(len(r.removed) for _, r in searched)),
            tp / max(1, sum(len(c.injected) for c, _ in searched)))


def evaluate(model_dir: Path, data: list[str], n: int, seed: int, split: str = "test") -> tuple[dict, list]:
    scorer = OnnxScorer(model_dir)
    block = scorer.card.thresholds.attribution
    rule_name, q_rules, score_rule = card_rules(block, scorer.card.classes)
    rule = score_rule if rule_name == "score" and score_rule is not None else None
    k, g = block.max_removals, block.min_gain
    _, sets = load_splits(data, scorer.card.classes, scorer.pre, keep_records=True)
    cases = build_attribution_set([(r.strokes, r.category) for r in sets[split].records], n, seed + 1)
    truth = [c.label for c in cases]
    by_q = [asyncio.run(attribute(c.strokes, scorer.score, lambda ci: q_rules[ci], k, g)) for c in cases]
    res = by_q if rule is None else [asyncio.run(attribute(c.strokes, scorer.score, lambda _: rule, k, g))
                                     for c in cases]
    with_removal = [r.verdict for r in res]
    rhs = [(c, r) for c, r in zip(cases, res, strict=True) if c.label == "rare_hard"]
    prec, rec = injected_removal(rhs)
    prec_rh, rec_rh = injected_removal([(c, r) for c, r in rhs if r.verdict == "rare_hard"])
    confusion = {t: {p: sum(a == t and b == p for a, b in zip(truth, with_removal, strict=True))
                     for p in ("benign", "rare_hard", "malicious")} for t in ("benign", "rare_hard", "malicious")}
    gens = sorted({c.generator for c in cases if c.label == "malicious"})
    summary = {
        "cases_per_label": n, "split": split, "seed": seed + 1, "rule": "score" if rule else "q",
        "malicious_f1_q_alone": f1(["malicious" if r.quality < q_rules[r.class_index].tau else "benign"
                                    for r in by_q], truth),
        "malicious_f1_q_rule_with_removal": f1([r.verdict for r in by_q], truth),
        "malicious_f1_rule_alone": f1(["malicious" if (r.value < rule.max if rule else r.quality <
                                                       q_rules[r.class_index].max) else "benign" for r in res], truth),
        "malicious_f1_with_removal": f1(with_removal, truth),
        "rare_hard_recovered": float(np.mean([r.verdict != "malicious" for _, r in rhs])),
        "injected_removal_precision": prec, "injected_removal_recall": rec,
        "injected_removal_precision_rare_hard_verdicts": prec_rh, "injected_removal_recall_rare_hard_verdicts": rec_rh,
        "malicious_recall_by_generator": {gen: float(np.mean([r.verdict == "malicious" for c, r in
                                                              zip(cases, res, strict=True) if c.generator == gen]))
                                          for gen in gens},
        "confusion_truth_to_verdict": confusion,
        "evaluations_mean": float(np.mean([r.evaluations for r in res])),
        "thresholds": block.model_dump(include={"percentiles", "max_removals", "min_gain"}) |
                      ({"score_tau": rule.tau, "score_max": rule.max} if rule else {}),
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
    p.add_argument("--model", default="models/gacl")
    p.add_argument("--data", nargs="+", default=["../shared/data/quickdraw"])
    p.add_argument("--n", type=int, default=300, help="cases per label")
    p.add_argument("--seed", type=int, default=0, help="the set is built with seed + 1")
    p.add_argument("--split", default="test", choices=["val", "test"], help="val only for checks while calibrating")
    p.add_argument("--server", default=None, help="base URL of a running service for the latency part")
    p.add_argument("--out", default="docs/results/attribution.json")
    args = p.parse_args()
    summary, cases = evaluate(Path(args.model), args.data, args.n, args.seed, args.split)
    if args.server:
        summary["latency"] = latency(args.server, cases)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
