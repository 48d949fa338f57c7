"""Calibrate the label-cleansing rule (sketchprep.label_rule) of an exported model into its card (version 2).

    sketchq-train calibrate-labels models/gacl --data ../shared/data/quickdraw

Procedure (validation split only; the test split is kept for scripts/label_noise_eval.py):
1. Score every validation drawing of the model's classes (q, cosines, predicted class).
2. For each noise level in NOISE (10, 20, 40 %), flip that fraction of the labels to other categories, uniformly
   at random (seeded).
3. Grid search q_min over the validation q percentiles 0, 5, ..., 90 and theta_suspect over 0.20, 0.22, ..., 1.60
   rad for the best F1 of finding the flipped labels, averaged over the noise levels, with the rule as the service
   applies it (a drawing whose claimed label is its predicted class is never suspect).
4. q_reject ("unusable", the paper's very low q): the REJECT_PERCENTILE-th percentile of validation q, so about
   that share of clean, real drawings is rejected; the record also gives the share of synthetic scribbles (the
   attribution set's malicious generators, on validation drawings) that falls below it.
The chosen thresholds are checked with the shared rule itself and written with the F1, precision and recall
they reach per noise level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import onnxruntime as ort
import tyro

from sketchprep.card import CARD_VERSION, LabelCheck, ModelCard
from sketchprep.preprocess import collate, sketch_to_points
from training.data.attribution_set import build_attribution_set
from training.data.splits import load_splits
from training.engine.config import DEFAULT_DATA
from training.evaluation.label_noise import Scored, claimed_theta, flagged, flip, precision_recall, score_split

NOISE = (0.1, 0.2, 0.4)
Q_PERCENTILES = tuple(range(0, 95, 5))
THETAS = tuple(np.round(np.arange(0.20, 1.6001, 0.02), 2))
REJECT_PERCENTILE = 2.0
SCRIBBLES = 300


@dataclass
class CalibrateLabelsArgs:
    model_dir: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="MODEL_DIR")]
    """exported model folder whose card gets thresholds.label_check (and card_version 2)"""
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    """sketch files or folders (the validation split is used)"""
    seed: int = 0
    """seed of the label flips and the scribbles"""


def _f1(found: np.ndarray, truth: np.ndarray) -> float:
    tp = int((found & truth).sum())
    return 2 * tp / max(1, int(found.sum()) + int(truth.sum()))


def search(s: Scored, seed: int) -> tuple[float, float, float]:
    """(q_min, theta_suspect, mean F1) of the best grid point."""
    noisy = [flip(s.labels, f, len(s.classes), seed + k) for k, f in enumerate(NOISE)]
    views = [(claimed_theta(s, c), s.pred != c, truth) for c, truth in noisy]
    best = (0.0, 0.0, -1.0)
    for qm in np.percentile(s.q, Q_PERCENTILES):
        for ts in THETAS:
            score = float(np.mean([_f1(guard & (s.q >= qm) & (theta > ts), truth) for theta, guard, truth in views]))
            if score > best[2]:
                best = (float(qm), float(ts), score)
    return best


def scribble_q(model_dir: Path, data: list[str], seed: int) -> np.ndarray:
    """q of synthetic scribbles (the attribution set's malicious cases) built on validation drawings."""
    card = ModelCard.load(model_dir)
    _, sets = load_splits(data, card.classes, card.preprocess.config(), keep_records=True)
    real = [(r.strokes, r.category) for r in sets["val"].records]
    cases = [c for c in build_attribution_set(real, SCRIBBLES, seed) if c.label == "malicious"]
    sess = ort.InferenceSession(str(card.onnx_path(model_dir)), providers=["CPUExecutionProvider"])
    x, lengths = collate([sketch_to_points(c.strokes, card.preprocess.config()) for c in cases])  # (B, T, 7)
    (q,) = sess.run(["q"], {"points": x, "lengths": lengths})
    return q.astype(np.float64)


def calibrate_labels(model_dir: Path, data: list[str], seed: int = 0) -> LabelCheck:
    s = score_split(model_dir, data, "val")
    q_min, theta_suspect, mean_f1 = search(s, seed)
    q_reject = float(np.percentile(s.q, REJECT_PERCENTILE))
    check = LabelCheck(q_min=q_min, theta_suspect=theta_suspect, q_reject=q_reject, procedure="")
    per_noise: dict[str, Any] = {}
    for k, f in enumerate(NOISE):
        claimed, truth = flip(s.labels, f, len(s.classes), seed + k)
        found = flagged(s, claimed, check)
        p, r = precision_recall(found, truth)
        per_noise[f"{round(100 * f)}%"] = {"precision": p, "recall": r, "f1": _f1(found, truth)}
    clean_flagged = float(flagged(s, s.labels, check).mean())
    scribbles = scribble_q(model_dir, data, seed)
    record = {"split": "val", "n": int(len(s.q)), "seed": seed, "noise_levels": list(NOISE),
              "mean_f1": mean_f1, "per_noise": per_noise, "clean_flagged": clean_flagged,
              "grid": "q_min: validation q percentiles 0..90 step 5; theta_suspect: 0.20..1.60 step 0.02",
              "q_reject_percentile": REJECT_PERCENTILE, "clean_rejected": float((s.q < q_reject).mean()),
              "scribbles_rejected": float((scribbles < q_reject).mean()), "scribbles": int(len(scribbles))}
    procedure = ("suspect if the claimed class is not the predicted one, q >= q_min and the angle to the claimed "
                 "class > theta_suspect: the grid point with the best mean F1 of finding labels flipped at 10/20/40 % "
                 f"of the validation split; rejected if q < q_reject, the {REJECT_PERCENTILE:g} % quantile of "
                 "validation q (sketchq-train calibrate-labels)")
    return check.model_copy(update={"procedure": procedure, "calibration": record})


def run_cli(args: CalibrateLabelsArgs) -> int:
    model_dir = Path(args.model_dir)
    check = calibrate_labels(model_dir, args.data, args.seed)
    card = ModelCard.load(model_dir)
    thresholds = card.thresholds.model_copy(update={"label_check": check})
    card.model_copy(update={"thresholds": thresholds, "card_version": CARD_VERSION}).save(model_dir)
    print(json.dumps(check.model_dump(), indent=1))
    return 0
