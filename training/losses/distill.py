"""Ensemble distillation of q (issue 12): one scorer learns to order drawings as several scorers of one recipe
do together. The mean log q of three seeds agrees with people more than any one of them (docs/results/
agreement.md), but costs three encoders a sketch; a student that follows the ensemble's log q keeps the cost of
one. Nothing here reads a rating: the teachers are annotation-free scorers, and the inputs are the training
batch (clean drawings, their damaged copies and the outliers).

The teachers' q scales differ from seed to seed, so each teacher's log q is standardised within the batch before
the mean, and the student is asked for the same *order and spacing*, not the same scale: the loss is built
from Pearson correlations of the student's log q with the teachers' mean standardised log q (over the batch,
and within each class), which leaves the scale of q to GACL's own regulariser."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from training.engine.checkpoints import load_net
from training.model.network import SketchQualityNet


def standardise(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """v (N,) -> (v - mean) / std over the N values (std with eps, so a constant vector maps to zeros)."""
    v = v - v.mean()
    return v / v.pow(2).mean().add(eps).sqrt()


class EnsembleTeacher:
    """Frozen scorers (eval mode, no gradients) -> their mean standardised log q on a batch."""

    def __init__(self, nets: Sequence[SketchQualityNet]):
        if not nets:
            raise ValueError("an ensemble teacher needs at least one scorer")
        self.nets = list(nets)
        for net in self.nets:
            net.eval()
            net.requires_grad_(False)

    @classmethod
    def load(cls, checkpoints: Sequence[str | Path], classes: Sequence[str], preprocess: dict,
             device: str = "cpu") -> EnsembleTeacher:
        """Scorer checkpoints of the student's classes and preprocessing (refused otherwise: a teacher that saw
        other inputs would teach another q)."""
        nets = []
        for path in checkpoints:
            net, ck = load_net(path)
            if list(ck["classes"]) != list(classes):
                raise ValueError(f"teacher {path}: its classes differ from the student's")
            if ck["preprocess"] != preprocess:
                raise ValueError(f"teacher {path}: preprocessing {ck['preprocess']} differs from {preprocess}")
            nets.append(net.to(device))
        return cls(nets)

    def __len__(self) -> int:
        return len(self.nets)

    @torch.no_grad()
    def target(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (N, T, 7), lengths (N,) -> (N,) the teachers' mean of their standardised log q."""
        zs = []
        for net in self.nets:
            q = torch.linalg.vector_norm(net.features(x, lengths), dim=1)  # (N,)
            zs.append(standardise(torch.log(q.clamp_min(1e-6))))
        return torch.stack(zs).mean(0)  # (N,)


def within_groups(v: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """v (N,), groups (N,) integer ids -> v minus the mean of its group, (N,)."""
    n = int(groups.max()) + 1
    total = torch.zeros(n, dtype=v.dtype, device=v.device).index_add(0, groups, v)
    count = torch.zeros(n, dtype=v.dtype, device=v.device).index_add(0, groups, torch.ones_like(v))
    return v - (total / count)[groups]


def correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of a (N,) and b (N,) (0 when either is constant)."""
    return (standardise(a) * standardise(b)).mean()


def distill_loss(q_student: torch.Tensor, target: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """q_student (N,) the student's q on the whole batch, target (N,) from EnsembleTeacher.target, labels (B,) the
    classes of the batch's first B (clean) drawings -> scalar in [0, 4]:

        (1 - corr(log q, target) over the batch) + (1 - corr of the two within each class, clean drawings only)

    The first term orders clean drawings against damaged ones and outliers, whose differences make most of a
    batch's spread; the second asks for the ensemble's order among drawings of one category, which is what a
    person compares (same-category pairs) and what the first term alone would barely feel."""
    log_q = torch.log(q_student.clamp_min(1e-6))
    b = len(labels)
    within = correlation(within_groups(log_q[:b], labels), within_groups(target[:b], labels))
    return (1.0 - correlation(log_q, target)) + (1.0 - within)
