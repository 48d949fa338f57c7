"""Levers that need no training, on trained checkpoints (issue 12): other readouts of the same network, and
test-time augmentation. For each checkpoint, on the judged pairs and the validation split as
`sketchq-train evaluate` measures them (the same AUROC categories, corruption sample and seed):

- readouts: q (= ||f||), q x max cos (the length of f along the class it reads best as: a drawing that reads as
  nothing gets a short projection), q x max cos^2, max cos, max probability: agreement (raters agree / both
  clear), AUROC recognised vs not, the share of drawings whose score falls below the clean one at the highest
  severity of each corruption;
- test-time augmentation: agreement of the mean log q over 8 copies rotated by up to +-R degrees and scaled by up
  to +-S per axis (the training augmentation's kind), with and without the drawing as drawn.

JSON lines to stdout, one per checkpoint:

    python scripts/agreement_readouts.py runs/study/full-kind-mul-s1/last.pt \\
        runs/study/full-prefix-strong-all-s1/last.pt
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from sketchprep.preprocess import PreprocessConfig
from sketchprep.strokes import Sketch
from training.data.splits import load_splits
from training.engine.checkpoints import load_net, probability_scale
from training.engine.config import DEFAULT_DATA
from training.engine.predict import score_strokes
from training.evaluation.agreement import DEFAULT_PAIRS, agreement, load_pairs
from training.evaluation.evaluate import AUROC_CATEGORIES, corruption_test, recognized_auroc

TTA = ((10.0, 0.1), (5.0, 0.05))  # (max rotation in degrees, max scale change per axis)


def readouts(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    q, mc = out["q"], np.clip(out["max_cos"], 0.0, None)
    return {"q": q, "q*max_cos": q * mc, "q*max_cos^2": q * mc**2, "max_cos": out["max_cos"],
            "max_prob": out["max_prob"]}


def transformed(strokes: Sketch, rng: np.random.Generator, rot_deg: float, scale: float) -> Sketch:
    a = np.deg2rad(rng.uniform(-rot_deg, rot_deg))
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    s = 1.0 + rng.uniform(-scale, scale, 2)
    return [(st @ rotation.T) * s for st in strokes]


def pair_agreement(pairs: list, scores: dict[str, np.ndarray]) -> dict[str, list[float]]:
    n = len(pairs)
    res = agreement(pairs, {k: (v[:n], v[n:]) for k, v in scores.items()})["subsets"]
    return {k: [round(res["agree"][k]["agreement"], 3), round(res["agree_clear"][k]["agreement"], 3)] for k in scores}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--pairs", default=DEFAULT_PAIRS)
    ap.add_argument("--corruption-sample", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    pairs = load_pairs(args.pairs)
    drawings = [p.a for p in pairs] + [p.b for p in pairs]
    for path in args.checkpoints:
        net, ck = load_net(path)
        pre, s = PreprocessConfig.from_dict(ck["preprocess"]), probability_scale(ck)
        out = score_strokes(net, drawings, pre, s)
        result: dict = {"checkpoint": path, "agreement": pair_agreement(pairs, readouts(out))}
        rng = np.random.default_rng(args.seed)
        tta = {}
        for rot, scale in TTA:
            logs = np.log([score_strokes(net, [transformed(d, rng, rot, scale) for d in drawings], pre, s)["q"]
                           for _ in range(8)])  # (8, 2n)
            tta[f"rot{rot:g}_scale{scale:g}"] = logs.mean(0)
            tta[f"rot{rot:g}_scale{scale:g}+as_drawn"] = (logs.sum(0) + np.log(out["q"])) / 9
        result["tta_agreement"] = pair_agreement(pairs, tta)
        _, sets = load_splits([args.data], ck["classes"], pre, keep_records=True)
        pooled = recognized_auroc(net, sets, ("val",), AUROC_CATEGORIES, pre, s, readout=readouts)["pooled"]
        result["auroc_recognized"] = {k: round(v, 3) for k, v in pooled.items() if k != "n_unrecognized"}
        corr = corruption_test(net, sets["val"], args.corruption_sample, pre, s, args.seed, readout=readouts)
        below = {kind: {k: round(v[k]["below_clean_at_3"], 3) for k in v if k != "n"} for kind, v in corr.items()}
        result["below_clean_at_3"] = below
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
