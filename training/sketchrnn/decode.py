"""One fixed-length decoding loop, shared by sampling, the ONNX decoder and the differentiable latent search.

At every step the decoder's mixture component and pen state are chosen by the Gumbel-max trick with the
noise given as input (so the result is a pure function of z, class, temperature and noise):

    component k = argmax_j(logit_pi_j + temperature * gumbel_pi_j)
    (dx, dy)    = mu_k + sqrt(temperature) * Cholesky(Sigma_k) @ normal_xy        (normalised, then * offset_std)
    pen         = argmax(pen_logits + temperature * gumbel_pen)

temperature 0 is the greedy decode (most likely component, its mean, most likely pen state); temperature tau > 0
samples from Sketch-RNN's tempered distribution (softmax(logits / tau), sigma * sqrt(tau)). With
`straight_through_tau` set, the one-hot choices become Eq. 21 of the paper: hard in the forward pass,
gradients of softmax((logits + temperature * gumbel) / straight_through_tau) in the backward pass, so
the whole decode is differentiable with respect to z (and the forward values are unchanged).

Rows after the first end-of-sketch row are written as (0, 0, 0, 0, 1); `alive` (B, T) is 1 on real rows.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from training.sketchrnn.model import SketchRNN


class DecodeNoise(NamedTuple):
    gumbel_pi: torch.Tensor  # (B, T, M) standard Gumbel
    gumbel_pen: torch.Tensor  # (B, T, 3) standard Gumbel
    normal_xy: torch.Tensor  # (B, T, 2) standard normal

    def to(self, device: torch.device | str) -> DecodeNoise:
        return DecodeNoise(*(t.to(device) for t in self))


class Decoded(NamedTuple):
    rows: torch.Tensor  # (B, T, 5) stroke-5 rows, offsets in pixels, end rows after the sketch
    alive: torch.Tensor  # (B, T) 1.0 on real rows (differentiable under straight-through)
    lengths: torch.Tensor  # (B,) int64 number of real rows


def gumbel(shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    u = torch.rand(shape, generator=generator).clamp(1e-9, 1.0 - 1e-9)
    return -torch.log(-torch.log(u))


def make_noise(batch: int, steps: int, num_mixtures: int, generator: torch.Generator | None = None) -> DecodeNoise:
    return DecodeNoise(gumbel((batch, steps, num_mixtures), generator), gumbel((batch, steps, 3), generator),
                       torch.randn((batch, steps, 2), generator=generator))


def one_hot_argmax(scores: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B, K) float one-hot of the first maximum (built by comparison: exports to ONNX)."""
    idx = torch.argmax(scores, dim=1, keepdim=True)  # (B, 1)
    ks = torch.arange(scores.shape[1], device=scores.device)[None, :]  # (1, K)
    return (ks == idx).to(scores.dtype)


def choose(scores: torch.Tensor, straight_through_tau: float | None) -> torch.Tensor:
    """Hard one-hot of argmax(scores); with a tau, Eq. 21: stop_gradient(y_hard - y_soft) + y_soft, written
    as y_hard + (y_soft - stop_gradient(y_soft)) so the forward value is exactly y_hard."""
    hard = one_hot_argmax(scores)
    if straight_through_tau is None:
        return hard
    soft = F.softmax(scores / straight_through_tau, dim=1)
    return hard + (soft - soft.detach())


def decode(model: SketchRNN, z: torch.Tensor, labels: torch.Tensor, temperature: torch.Tensor, noise: DecodeNoise,
           straight_through_tau: float | None = None) -> Decoded:
    """z (B, Z), labels (B,) int64, temperature (B,), noise of T steps -> Decoded with T rows."""
    steps = noise.normal_xy.shape[1]
    std = model.offset_std
    const = model.step_constant(model.conditioning(z, labels))  # (B, 4H)
    state = model.initial_state(z)
    prev = model.rows_like(model.s0, z)  # (B, 5) normalised input row
    t = temperature[:, None]  # (B, 1)
    st = torch.sqrt(t)
    eos = model.rows_like(model.eos, z)  # (B, 5)
    alive = torch.ones_like(t)  # (B, 1)
    rows, alives = [], []
    for s in range(steps):
        out, state = model.step(prev, state, const)
        mix = model.mixture(out)
        y = choose(mix.logit_pi + t * noise.gumbel_pi[:, s], straight_through_tau)  # (B, M)
        mu_x, mu_y = (y * mix.mu_x).sum(1), (y * mix.mu_y).sum(1)  # (B,)
        sx, sy = (y * mix.log_sx.exp()).sum(1), (y * mix.log_sy.exp()).sum(1)
        rho = (y * mix.rho).sum(1)
        e1, e2 = noise.normal_xy[:, s, 0], noise.normal_xy[:, s, 1]
        dx = mu_x + st[:, 0] * sx * e1
        dy = mu_y + st[:, 0] * sy * (rho * e1 + torch.sqrt((1.0 - rho**2).clamp_min(1e-6)) * e2)
        pen = choose(mix.pen_logits + t * noise.gumbel_pen[:, s], straight_through_tau)  # (B, 3)
        prev = torch.cat([dx[:, None], dy[:, None], pen], dim=1)  # (B, 5) fed back, normalised
        alive = alive * (1.0 - pen[:, 2:3])
        row = torch.cat([dx[:, None] * std, dy[:, None] * std, pen], dim=1)  # (B, 5) pixels
        rows.append(alive * row + (1.0 - alive) * eos)
        alives.append(alive)
    alive_bt = torch.cat(alives, dim=1)  # (B, T)
    lengths = alive_bt.detach().sum(1).round().to(torch.int64)  # (B,)
    return Decoded(torch.stack(rows, dim=1), alive_bt, lengths)
