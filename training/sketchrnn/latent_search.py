"""The paper's quality-guided generation (Sec. 3.6) in torch: gradient steps on the VAE's latent z.

    L(z) = (q_max - q(D(z))) + alpha * ||z - z0||^2          (Eq. 20), z0 = the encoder's mean of the input
    z   <- z - lambda * dL/dz                                 (optimizer "sgd"; "adam" is offered too)

D(z) is the fixed-length decode of training.sketchrnn.decode with straight-through Gumbel-softmax for the
mixture and pen choices (Eq. 21): the forward pass is a real discrete sketch (greedy at temperature 0, or
sampled with noise fixed for the whole search, so every step sees the same objective), the backward pass
uses softmax((logits + noise) / tau). The chosen component's offsets (its mean, plus the reparameterised
Gaussian noise at temperature > 0) are summed into absolute points, turned into the scorer's features by
the differentiable twin training.data.torch_features, and scored: q = ||f(x)||.

Every iterate is scored; the result is the iterate with the lowest L (z0's reconstruction included), so
the objective never gets worse than at the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from sketchprep.strokes import Sketch
from training.data.torch_features import stroke5_to_features
from training.engine.checkpoints import load_net
from training.model.network import SketchQualityNet
from training.sketchrnn.decode import decode, make_noise
from training.sketchrnn.model import SketchRNN


@dataclass
class SearchConfig:
    steps: int = 20  # gradient steps on z
    lr: float = 0.1  # lambda of Eq. 20 (the step size)
    alpha: float = 1.0  # weight of the identity term ||z - z0||^2
    q_max: float = 110.0  # u_q of the scorer's GACL instantiation; a constant, it moves L, not its gradient
    tau: float = 0.5  # Gumbel-softmax temperature of the backward pass (Eq. 21)
    temperature: float = 0.0  # decoding noise: 0 = greedy; > 0 = sampled with noise fixed per search
    decode_steps: int | None = None  # rows to decode; None: the scorer's max_points - 1 (no RDP needed)
    optimizer: str = "sgd"  # sgd (Eq. 20) | adam
    seed: int = 0


class QualityCritic(nn.Module):
    """q(rows) = ||f(features(rows))|| with the scorer's own preprocessing, differentiably."""

    def __init__(self, net: SketchQualityNet, pre: PreprocessConfig):
        super().__init__()
        self.net = net.eval()
        self.pre = pre
        for p in self.net.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_checkpoint(cls, checkpoint: str) -> QualityCritic:
        net, ck = load_net(checkpoint)
        return cls(net, PreprocessConfig.from_dict(ck["preprocess"]))

    def forward(self, rows: torch.Tensor, alive: torch.Tensor | None = None) -> torch.Tensor:
        """rows (B, T, 5) stroke-5 in pixels, alive (B, T) -> q (B,)."""
        feats, lengths = stroke5_to_features(rows, alive, self.pre)  # (B, T + 1, 7), (B,)
        return torch.linalg.vector_norm(self.net.features(feats, lengths), dim=1)

    @torch.no_grad()
    def score_sketches(self, sketches: list[Sketch]) -> np.ndarray:
        """q of sketches through the numpy preprocessing (the service's path, RDP included) -> (B,)."""
        x, lens = collate([sketch_to_points(s, self.pre) for s in sketches])
        f = self.net.features(torch.from_numpy(x), torch.from_numpy(lens))
        return torch.linalg.vector_norm(f, dim=1).numpy()


@dataclass
class SearchResult:
    z0: torch.Tensor  # (B, Z)
    z: torch.Tensor  # (B, Z) the chosen iterate
    rows: torch.Tensor  # (B, T, 5) its decode, pixels
    lengths: torch.Tensor  # (B,) real rows
    q0: torch.Tensor  # (B,) q of the reconstruction D(z0)
    q: torch.Tensor  # (B,) q of the chosen decode
    distance: torch.Tensor  # (B,) ||z - z0||^2
    best_step: torch.Tensor  # (B,) int64 which iterate was chosen
    q_trajectory: torch.Tensor  # (steps + 1, B) q of every iterate
    loss_trajectory: torch.Tensor  # (steps + 1, B) L of every iterate


def latent_search(model: SketchRNN, critic: QualityCritic, z0: torch.Tensor, labels: torch.Tensor,
                  cfg: SearchConfig | None = None) -> SearchResult:
    """Independent searches for a batch: z0 (B, Z), labels (B,) -> SearchResult."""
    cfg = cfg or SearchConfig()
    model.eval()
    b = len(z0)
    steps = cfg.decode_steps or critic.pre.max_points - 1
    noise = make_noise(b, steps, model.cfg.num_mixtures, torch.Generator().manual_seed(cfg.seed)).to(z0.device)
    temperature = torch.full((b,), float(cfg.temperature), device=z0.device)
    z0 = z0.detach()
    z = z0.clone().requires_grad_(True)
    if cfg.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD([z], lr=cfg.lr)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam([z], lr=cfg.lr)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}")
    best_loss = torch.full((b,), float("inf"), device=z0.device)
    best = {"z": z0.clone(), "rows": None, "lengths": None, "q": None,
            "step": torch.zeros(b, dtype=torch.int64, device=z0.device)}
    qs, losses = [], []
    q0 = None
    for k in range(cfg.steps + 1):
        dec = decode(model, z, labels, temperature, noise, straight_through_tau=cfg.tau)
        q = critic(dec.rows, dec.alive)  # (B,)
        dist = ((z - z0) ** 2).sum(1)  # (B,)
        loss = (cfg.q_max - q) + cfg.alpha * dist  # (B,) Eq. 20
        qd, ld = q.detach(), loss.detach()
        q0 = qd.clone() if q0 is None else q0
        qs.append(qd)
        losses.append(ld)
        better = ld < best_loss
        best_loss = torch.where(better, ld, best_loss)
        for key, val in (("z", z.detach()), ("rows", dec.rows.detach()), ("lengths", dec.lengths), ("q", qd)):
            cur = best[key]
            mask = better.view(-1, *([1] * (val.dim() - 1)))
            best[key] = val.clone() if cur is None else torch.where(mask, val, cur)
        best["step"] = torch.where(better, torch.full_like(best["step"], k), best["step"])
        if k == cfg.steps:
            break
        (grad,) = torch.autograd.grad(loss.sum(), z)
        opt.zero_grad(set_to_none=True)
        z.grad = grad
        opt.step()
    return SearchResult(z0=z0, z=best["z"], rows=best["rows"], lengths=best["lengths"], q0=q0, q=best["q"],
                        distance=((best["z"] - z0) ** 2).sum(1), best_step=best["step"],
                        q_trajectory=torch.stack(qs), loss_trajectory=torch.stack(losses))


@torch.no_grad()
def encode_mean(model: SketchRNN, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """z0 = the encoder's mean for x (B, T, 5) pixel rows -> (B, Z)."""
    mu, _ = model.encode(x, lengths)
    return mu
