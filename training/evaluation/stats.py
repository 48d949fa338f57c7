"""Evaluation statistics without extra dependencies: AUROC (Mann-Whitney) and a paired bootstrap."""

from __future__ import annotations

import numpy as np


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counted half."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks of ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def paired_bootstrap_auroc_diff(a: np.ndarray, b: np.ndarray, is_pos: np.ndarray, n: int = 2000,
                                seed: int = 0) -> dict:
    """AUROC(a) - AUROC(b) on the same sketches, with a 95% bootstrap interval (resampling sketches)."""
    rng = np.random.default_rng(seed)
    idx_pos, idx_neg = np.flatnonzero(is_pos), np.flatnonzero(~is_pos)
    diffs = []
    for _ in range(n):
        p = rng.choice(idx_pos, len(idx_pos))
        q = rng.choice(idx_neg, len(idx_neg))
        diffs.append(auroc(a[p], a[q]) - auroc(b[p], b[q]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    d = auroc(a[idx_pos], a[idx_neg]) - auroc(b[idx_pos], b[idx_neg])
    return {"diff": float(d), "ci95": [float(lo), float(hi)]}
