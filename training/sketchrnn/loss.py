"""Sketch-RNN's objective and schedules (Ha and Eck 2018, and the magenta implementation's defaults).

    L = L_R + w_KL(step) * max(L_KL, kl_tolerance)
    L_R = L_s + L_p, both divided by N_max (= B * T positions, padding included):
        L_s = -sum over real rows of log sum_j pi_j N(dx, dy | mu_j, sigma_j, rho_j)   (offsets, masked)
        L_p = -sum over all T rows of sum_k p_k log q_k                                 (pen, incl. end rows)
    L_KL = -1/(2 Z) sum(1 + logvar - mu^2 - exp(logvar)), averaged over the batch
    w_KL(step) = kl_weight - (kl_weight - kl_weight_start) * kl_decay_rate ** step
    lr(step) = (lr - min_lr) * lr_decay ** step + min_lr
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from training.sketchrnn.model import Mixture

LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class LossConfig:
    kl_weight: float = 0.5
    """final weight w_KL of the KL term"""
    kl_weight_start: float = 0.01
    """w_KL at step 0 (annealed towards kl_weight)"""
    kl_tolerance: float = 0.2
    """KL per dimension below which the KL term is not pushed further"""
    kl_decay_rate: float = 0.99995
    """w_KL(step) = kl_weight - (kl_weight - kl_weight_start) * kl_decay_rate ** step"""
    lr: float = 1e-3
    """initial learning rate (Adam)"""
    lr_decay: float = 0.9999
    """lr(step) = (lr - min_lr) * lr_decay ** step + min_lr"""
    min_lr: float = 1e-5
    """the learning rate's floor"""


def kl_weight(cfg: LossConfig, step: int) -> float:
    return cfg.kl_weight - (cfg.kl_weight - cfg.kl_weight_start) * cfg.kl_decay_rate**step


def learning_rate(cfg: LossConfig, step: int) -> float:
    return (cfg.lr - cfg.min_lr) * cfg.lr_decay**step + cfg.min_lr


def gmm_log_likelihood(mix: Mixture, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """log sum_j pi_j N2(dx, dy) per position; mix (..., M), dx dy (...) normalised -> (...)."""
    sx, sy = mix.log_sx.exp(), mix.log_sy.exp()
    nx = (dx[..., None] - mix.mu_x) / sx  # (..., M)
    ny = (dy[..., None] - mix.mu_y) / sy
    one_minus_rho2 = (1.0 - mix.rho**2).clamp_min(1e-6)
    quad = (nx**2 + ny**2 - 2.0 * mix.rho * nx * ny) / one_minus_rho2
    log_n = -0.5 * quad - LOG_2PI - mix.log_sx - mix.log_sy - 0.5 * torch.log(one_minus_rho2)
    return torch.logsumexp(F.log_softmax(mix.logit_pi, dim=-1) + log_n, dim=-1)


def reconstruction_loss(mix: Mixture, target: torch.Tensor, lengths: torch.Tensor, n_max: int | None = None,
                        pen_to_end: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """mix (B, T, .), target (B, T, 5) normalised rows padded with end rows, lengths (B,) -> (L_s, L_p).

    Both sums are divided by B * n_max (default T), a constant, as in Sketch-RNN. pen_to_end: the pen term
    only over the real rows and the first end row (what generation uses), not over end-after-end rows.
    """
    b, t, _ = target.shape
    denom = b * (t if n_max is None else n_max)
    pos = torch.arange(t, device=target.device)[None, :]  # (1, T)
    mask = (pos < lengths[:, None]).to(target.dtype)  # (B, T)
    ll = gmm_log_likelihood(mix, target[..., 0], target[..., 1])  # (B, T)
    l_s = -(ll * mask).sum() / denom
    ce = -(target[..., 2:5] * F.log_softmax(mix.pen_logits, dim=-1)).sum(-1)  # (B, T)
    if pen_to_end:
        ce = ce * (pos <= lengths[:, None]).to(ce.dtype)
    return l_s, ce.sum() / denom


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per latent dimension, averaged over dims and batch."""
    return -0.5 * torch.mean(1.0 + logvar - mu**2 - logvar.exp())


def total_loss(mix: Mixture, target: torch.Tensor, lengths: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
               cfg: LossConfig, step: int, n_max: int | None = None) -> tuple[torch.Tensor, dict]:
    """-> (scalar loss to minimise, float stats for the log)."""
    l_s, l_p = reconstruction_loss(mix, target, lengths, n_max)
    kl = kl_loss(mu, logvar)
    w = kl_weight(cfg, step)
    loss = l_s + l_p + w * torch.clamp(kl, min=cfg.kl_tolerance)
    stats = {"loss": loss.item(), "recon": (l_s + l_p).item(), "offset_nll": l_s.item(), "pen_ce": l_p.item(),
             "kl": kl.item(), "kl_weight": w}
    return loss, stats
