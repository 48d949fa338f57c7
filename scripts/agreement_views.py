"""Agreement with the raters of q averaged over views of each drawing at inference (test-time augmentation):
the drawing as drawn, flipped left-right (`sketchprep.strokes.mirrored`) and turned by +-8 degrees. A person
judges every view of a pair the same, so a view-averaged q is a lever that needs no labels; it costs one model
run per view. Prints JSON: agreement over the agreed and the clear pairs of each view alone and of the means of
log q over view sets.

    python scripts/agreement_views.py models/gacl            # an exported folder or a checkpoint
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from sketchprep.strokes import Sketch, mirrored
from training.evaluation.agreement import DEFAULT_PAIRS, SUBSETS, agreement, load_pairs
from training.evaluation.agreement_eval import model_scores

ROTATION_DEGREES = 8.0
VIEW_SETS = {"as drawn + mirrored": ("as drawn", "mirrored"),
             "as drawn + both turns": ("as drawn", "turned +", "turned -"),
             "all four views": ("as drawn", "mirrored", "turned +", "turned -")}


def turned(strokes: Sketch, degrees: float) -> Sketch:
    """The drawing rotated about the origin (preprocessing renormalises position and size)."""
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return [np.asarray(s, dtype=np.float64) @ rot.T for s in strokes]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="exported model folder or checkpoint")
    ap.add_argument("--pairs", default=DEFAULT_PAIRS, help="judged-pairs JSONL")
    args = ap.parse_args()
    pairs = load_pairs(args.pairs)
    n = len(pairs)
    sketches = [p.a for p in pairs] + [p.b for p in pairs]
    views = {"as drawn": sketches, "mirrored": [mirrored(s) for s in sketches],
             "turned +": [turned(s, ROTATION_DEGREES) for s in sketches],
             "turned -": [turned(s, -ROTATION_DEGREES) for s in sketches]}
    log_q = {name: np.log(model_scores(args.model, v)[0]["q"]) for name, v in views.items()}  # (2N,) each
    scores = dict(log_q)
    scores |= {name: np.mean([log_q[v] for v in members], axis=0) for name, members in VIEW_SETS.items()}
    result = agreement(pairs, {name: (s[:n], s[n:]) for name, s in scores.items()})
    print(json.dumps({"model": args.model, "rotation_degrees": ROTATION_DEGREES} | {
        name: {sub: round(result["subsets"][sub][name]["agreement"], 4) for sub in SUBSETS}
        for name in scores}, indent=1))


if __name__ == "__main__":
    main()
