"""Collapse detection: a GACL run can collapse to one saturated feature vector with a constant q, which
makes q meaningless. The loop checks the validation features after every epoch."""

from __future__ import annotations

import torch

MAX_MEAN_PAIRWISE_COS = 0.99  # above: features are (nearly) collinear
MIN_Q_CV = 0.01  # below: q (nearly) constant across sketches (std / mean)


class CollapseError(RuntimeError):
    """Training stopped because features collapsed; the q score would be meaningless."""


def feature_health(f: torch.Tensor, sample: int = 1024) -> dict:
    """f (N, D) -> q spread and mean pairwise cosine over a fixed sample, and a `collapsed` verdict."""
    q = torch.linalg.vector_norm(f, dim=1)  # (N,)
    sub = torch.nn.functional.normalize(f[:sample], dim=1, eps=1e-12)  # (n, D)
    n = len(sub)
    gram = sub @ sub.T  # (n, n)
    mean_cos = float((gram.sum() - gram.diagonal().sum()) / max(1, n * (n - 1)))
    q_cv = float(q.std() / q.mean().clamp_min(1e-12)) if len(q) > 1 else 0.0
    p5, p50, p95 = (float(v) for v in torch.quantile(q, torch.tensor([0.05, 0.5, 0.95])))
    return {"q_p5": p5, "q_median": p50, "q_p95": p95, "q_cv": q_cv, "mean_pairwise_cos": mean_cos,
            "collapsed": bool(mean_cos > MAX_MEAN_PAIRWISE_COS or q_cv < MIN_Q_CV)}
