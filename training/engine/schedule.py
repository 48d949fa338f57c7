"""Schedules of the scorer's loop: the learning-rate factor and the soft-binning cut points per epoch."""

from __future__ import annotations

import math

from training.engine.config import TrainConfig


def soft_bins_for_epoch(cfg: TrainConfig, epoch: int) -> int | None:
    """Number of cut points for this epoch, or None for continuous q."""
    if not cfg.soft_binning or cfg.head != "gacl":
        return None
    if epoch < cfg.soft_bins_hold:
        return cfg.soft_bins_start
    k = epoch - cfg.soft_bins_hold + 1
    if k <= cfg.soft_bins_ramp:
        frac = k / cfg.soft_bins_ramp
        return round(cfg.soft_bins_start + frac * (cfg.soft_bins_end - cfg.soft_bins_start))
    return None


def lr_factor(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "restarts":
        pos = (step % steps_per_epoch) / steps_per_epoch
    else:
        total = cfg.epochs * steps_per_epoch - cfg.warmup_steps
        pos = min(1.0, (step - cfg.warmup_steps) / max(1, total))
    return 0.5 * (1 + math.cos(math.pi * pos))
