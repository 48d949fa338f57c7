"""Label noise on a split (paper Sec. 6, Fig. 11): flip a fraction of the labels to other categories and measure
how well the label-cleansing rule (sketchprep.label_rule, the one the service and `sketchq clean` apply) finds
the flipped ones. Shared by `sketchq-train calibrate-labels` (validation split) and
scripts/label_noise_eval.py (test split)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from sketchprep.card import LabelCheck, ModelCard
from sketchprep.label_rule import is_suspect
from sketchprep.preprocess import collate
from training.data.splits import load_splits

BATCH = 256


@dataclass(frozen=True)
class Scored:
    """A split scored by an exported model: q (N,), cos (N, C), pred (N,), the true labels (N,)."""

    q: np.ndarray
    cos: np.ndarray
    pred: np.ndarray
    labels: np.ndarray
    classes: list[str]


def score_split(model_dir: Path, data: Sequence[str], split: str) -> Scored:
    """Every drawing of the model's classes in `split` (sketchprep's hash split) through model.onnx."""
    card = ModelCard.load(model_dir)
    _, sets = load_splits(data, card.classes, card.preprocess.config())
    s = sets[split]
    sess = ort.InferenceSession(str(card.onnx_path(model_dir)), providers=["CPUExecutionProvider"])
    qs, coss, preds = [], [], []
    for i in range(0, len(s), BATCH):
        x, lengths = collate(s.items[i:i + BATCH])  # (B, T, 7), (B,)
        q, cos, pred = sess.run(["q", "cos", "pred"], {"points": x, "lengths": lengths})
        qs.append(q), coss.append(cos), preds.append(pred)
    return Scored(np.concatenate(qs).astype(np.float64), np.concatenate(coss).astype(np.float64),
                  np.concatenate(preds), np.asarray(s.labels), card.classes)


def flip(labels: np.ndarray, fraction: float, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(noisy labels, flipped mask): exactly round(fraction * N) labels, chosen at random, each changed to one
    of the other categories uniformly at random."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=round(fraction * n), replace=False)] = True
    shift = rng.integers(1, n_classes, size=n)  # 1..C-1: never the true class
    noisy = np.where(mask, (labels + shift) % n_classes, labels)
    return noisy, mask


def claimed_theta(s: Scored, claimed: np.ndarray) -> np.ndarray:
    """(N,) angle to the claimed class centre, radians."""
    return np.arccos(np.clip(s.cos[np.arange(len(claimed)), claimed], -1.0, 1.0))


def flagged(s: Scored, claimed: np.ndarray, check: LabelCheck) -> np.ndarray:
    """(N,) bool: the shared rule, drawing by drawing."""
    theta = claimed_theta(s, claimed)
    return np.array([is_suspect(float(q), float(t), int(p), int(c), check)
                     for q, t, p, c in zip(s.q, theta, s.pred, claimed, strict=True)])


def precision_recall(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    tp = int((found & truth).sum())
    return tp / max(1, int(found.sum())), tp / max(1, int(truth.sum()))


def pr_curve(s: Scored, claimed: np.ndarray, truth: np.ndarray, check: LabelCheck,
             thetas: np.ndarray) -> list[tuple[float, float, float]]:
    """(theta_suspect, precision, recall) with q_min as in `check` and theta_suspect swept."""
    out = []
    for t in thetas:
        p, r = precision_recall(flagged(s, claimed, check.model_copy(update={"theta_suspect": float(t)})), truth)
        out.append((float(t), p, r))
    return out
