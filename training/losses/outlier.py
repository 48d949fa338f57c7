"""The outlier-exposure hinge (issue 12; the drawings come from training.data.outliers.OutlierPool): drawings of
categories the scorer is not trained on must score below the training drawings."""

from __future__ import annotations

import torch


def outlier_loss(q_clean: torch.Tensor, q_outlier: torch.Tensor, margin: float) -> torch.Tensor:
    """q_clean (B,) the batch's clean training drawings, q_outlier (n,) -> scalar hinge: each outlier's log q
    must sit `margin` below the clean drawings' mean log q (detached, so only the outliers are pushed)."""
    ref = torch.log(q_clean.detach().clamp_min(1e-6)).mean()
    return torch.relu(torch.log(q_outlier.clamp_min(1e-6)) - ref + margin).mean()
