"""Classification objectives: normalised softmax (paper Eq. 4) and GACL (Eq. 5, Sec. 3.3) with the
reference (MagFace-style) formulation, plus soft binning (Eq. 18).

GACL, per sample with raw feature norm q = ||f(x)||_2 (never clamped):
    m(q)   = l_m + k (clamp(q_b, l_a, u_a) - l_a),  k = (u_m - l_m) / (u_a - l_a)
             (q_b is the soft-binned q while binning is on, q itself otherwise)
    target logit A, other logits s cos(theta_j):
        cos: s (cos theta_y - m)      sca: s (1 - m) cos theta_y
        mul: s cos(m theta_y)         add: s cos(theta_y + m)
    loss   = CE + lambda_g * (q / u_a^2 + 1 / q)
Each kind has its own default margin range (the paper's l_q, u_q). The regulariser keeps the optimum q
inside [l_a, u_a] only when lambda_g >= s k c u_a^2 l_a^2 / (u_a^2 - l_a^2) (c = pi/2 for mul, 1 else):
a smaller lambda_g is refused. Angular variants clamp cos to +-(1 - eps) so arccos has finite gradients.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
import tyro

GACL_KINDS = ("cos", "sca", "mul", "add")
DEFAULT_MARGINS = {"cos": (0.35, 0.8), "sca": (0.1, 0.3), "mul": (1.1, 1.25), "add": (0.45, 0.65)}


@dataclass
class GACLConfig:
    kind: Annotated[Literal[GACL_KINDS], tyro.conf.arg(name="gacl-kind")] = "cos"
    """GACL variant: the form of the target logit A(q, theta_y)"""
    s: float = 64.0
    """logit scale s (also the normalised softmax's, and the service's probability scale)"""
    l_a: float = 10.0
    """lower end of the quality range [l_a, u_a] the margin maps"""
    u_a: float = 110.0
    """upper end of the quality range"""
    l_m: float | None = None
    """margin at q <= l_a (None: the kind's default)"""
    u_m: float | None = None
    """margin at q >= u_a (None: the kind's default)"""
    lambda_g: float = 150.0
    """weight of the regulariser q / u_a^2 + 1 / q; refused below its lower bound"""
    eps: float = 1e-6
    """cosines are clamped to +-(1 - eps) before arccos"""

    def __post_init__(self) -> None:
        if self.kind not in GACL_KINDS:
            raise ValueError(f"GACL kind must be one of {GACL_KINDS}, got {self.kind!r}")
        if not 0 < self.l_a < self.u_a:
            raise ValueError("need 0 < l_a < u_a")
        bound = self.lambda_g_lower_bound()
        if self.lambda_g < bound:
            raise ValueError(f"lambda_g={self.lambda_g} is below its lower bound {bound:.3f}: "
                             "the optimal q would not lie inside [l_a, u_a]")

    @property
    def margins(self) -> tuple[float, float]:
        """(l_m, u_m), the kind's defaults where unset (the fields stay as given, so a CLI default is no
        other kind's margin)."""
        lo, hi = DEFAULT_MARGINS[self.kind]
        return (lo if self.l_m is None else self.l_m, hi if self.u_m is None else self.u_m)

    @property
    def k(self) -> float:
        l_m, u_m = self.margins
        return (u_m - l_m) / (self.u_a - self.l_a)

    def lambda_g_lower_bound(self) -> float:
        c = math.pi / 2 if self.kind == "mul" else 1.0
        return self.s * self.k * c * self.u_a**2 * self.l_a**2 / (self.u_a**2 - self.l_a**2)

    def to_dict(self) -> dict:
        """The config with the margins resolved (as checkpoints and model cards record it)."""
        d = asdict(self)
        d["l_m"], d["u_m"] = self.margins
        return d


def margin(q: torch.Tensor, cfg: GACLConfig) -> torch.Tensor:
    return cfg.margins[0] + cfg.k * (q.clamp(cfg.l_a, cfg.u_a) - cfg.l_a)


def norm_softmax_loss(cos: torch.Tensor, y: torch.Tensor, s: float) -> torch.Tensor:
    """Paper Eq. 4: cross-entropy on s cos(theta)."""
    return F.cross_entropy(s * cos, y)


def target_logit(cos_y: torch.Tensor, m: torch.Tensor, cfg: GACLConfig, ramp: float) -> torch.Tensor:
    """A(q, theta_y) for the configured kind; `ramp` in [0, 1] scales the margin (1 = full GACL)."""
    if cfg.kind == "cos":
        return cfg.s * (cos_y - ramp * m)
    if cfg.kind == "sca":
        return cfg.s * (1.0 - ramp * m) * cos_y
    theta = torch.acos(cos_y.clamp(-1.0 + cfg.eps, 1.0 - cfg.eps))
    if cfg.kind == "mul":
        return cfg.s * torch.cos((1.0 + ramp * (m - 1.0)) * theta)
    return cfg.s * torch.cos(theta + ramp * m)  # add


def gacl_loss(f: torch.Tensor, cos: torch.Tensor, y: torch.Tensor, cfg: GACLConfig,
              ramp: float = 1.0, soft_bins: int | None = None,
              bin_temperature: float = 0.1) -> tuple[torch.Tensor, dict[str, float]]:
    """f (B, D) raw features, cos (B, C), y (B,) -> (loss, stats). `ramp` scales margin and lambda_g."""
    q = torch.linalg.vector_norm(f, dim=1).clamp_min(1e-6)  # (B,) raw norm; floor only against 1/0
    q_m = soft_bin(q, cfg.l_a, cfg.u_a, soft_bins, bin_temperature) if soft_bins else q
    m = margin(q_m, cfg)  # (B,)
    logits = cfg.s * cos  # (B, C)
    cos_y = cos.gather(1, y[:, None])[:, 0]  # (B,)
    logits = logits.scatter(1, y[:, None], target_logit(cos_y, m, cfg, ramp)[:, None])
    ce = F.cross_entropy(logits, y)
    reg = (q / cfg.u_a**2 + 1.0 / q).mean()
    loss = ce + ramp * cfg.lambda_g * reg
    return loss, {"ce": float(ce.detach()), "reg": float(reg.detach()), "q_mean": float(q.detach().mean())}


def soft_bin(q: torch.Tensor, lo: float, hi: float, n_cuts: int, temperature: float = 0.1) -> torch.Tensor:
    """Eq. 18, differentiable: q (B,) -> q_hat (B,), near the lower cut point of q's bin.

    Reading of Eq. 18 (as printed, o has n + 1 entries but beta has n): n cut points beta_1..beta_n
    equally spaced on [lo, hi] make n + 1 bins; bin 0 (q < beta_1) takes value beta_1 (= lo, the value m()
    clamps to anyway) and bin i >= 1 ([beta_i, beta_{i+1})) takes its lower cut beta_i. Logits
    w q + b with w = [1..n+1], b = [0, -beta_1, -beta_1-beta_2, ...] differ between neighbouring bins
    by q - beta_i, so the arg-max is q's bin. tau = temperature x bin width: with the default 0.1 a q in
    the middle of a bin gets probability ~0.99 for its bin.
    """
    o = soft_bin_probs(q, lo, hi, n_cuts, temperature)  # (B, n+1)
    beta = torch.linspace(lo, hi, n_cuts, device=q.device, dtype=q.dtype)  # (n,)
    return o @ torch.cat([beta[:1], beta])  # bin values (n+1,): beta_1, beta_1, ..., beta_n


def soft_bin_probs(q: torch.Tensor, lo: float, hi: float, n_cuts: int, temperature: float = 0.1) -> torch.Tensor:
    """The bin probabilities o (B, n+1) of soft_bin (see there)."""
    if n_cuts < 2:
        raise ValueError("soft binning needs at least 2 cut points")
    beta = torch.linspace(lo, hi, n_cuts, device=q.device, dtype=q.dtype)  # (n,)
    tau = temperature * (hi - lo) / (n_cuts - 1)
    w = torch.arange(1, n_cuts + 2, device=q.device, dtype=q.dtype)  # (n+1,)
    b = -torch.cat([beta.new_zeros(1), torch.cumsum(beta, 0)])  # (n+1,)
    return torch.softmax((q[:, None] * w + b) / tau, dim=1)
