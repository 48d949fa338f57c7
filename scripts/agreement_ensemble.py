"""Agreement with the raters of an ensemble: the mean log q of several study runs, from the per-pair scores
their evaluation already wrote (RUN/eval-val/agreement/agreement.json, `pair_scores`); nothing is re-scored.

    python scripts/agreement_ensemble.py ../shared/judged/pairs-dev.jsonl \
        runs/study/full-prefix-strong-all-s1 runs/study/full-prefix-strong-all-s2 runs/study/full-prefix-strong-all-s3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.evaluation.agreement import agreement, load_pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", type=Path, help="judged-pairs JSONL the runs were evaluated on")
    ap.add_argument("runs", type=Path, nargs="+", help="study run folders")
    args = ap.parse_args()
    pairs = load_pairs(args.pairs)
    sides = []
    for run in args.runs:
        scores = json.loads((run / "eval-val" / "agreement" / "agreement.json").read_text())["pair_scores"]
        a, b = np.asarray(scores["q"]["a"]), np.asarray(scores["q"]["b"])
        if len(a) != len(pairs):
            raise SystemExit(f"{run}: scored on {len(a)} pairs, {args.pairs} has {len(pairs)}")
        sides.append((np.log(a), np.log(b)))
    mean = (np.mean([a for a, _ in sides], 0), np.mean([b for _, b in sides], 0))  # (N,) each
    res = agreement(pairs, {"ensemble": mean})["subsets"]
    print(json.dumps({"runs": [str(r) for r in args.runs], "score": "mean log q",
                      **{k: v["ensemble"] | {"n": v["n"]} for k, v in res.items()}}, indent=1))


if __name__ == "__main__":
    main()
