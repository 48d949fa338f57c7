"""Training augmentation on padded feature batches: random rotation and per-axis scaling, then the
sketch is renormalised exactly as sketchprep.preprocess does (top-left at 0, longest side 1) and its
offset features recomputed, so augmented inputs stay in the frame the model sees at inference."""

from __future__ import annotations

import math

import torch


def augment_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float, max_degrees: float = 10.0,
                  max_scale: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """x (B, T, 7) -> augmented copy (B, T, 7); padding stays zero."""
    b, t, _ = x.shape
    mask = (torch.arange(t)[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]  # (B, T, 1)
    xy = (x[:, :, 0:2] + 1.0) / 2.0  # (B, T, 2) back to [0, 1]
    angle = (torch.rand(b, generator=generator) * 2 - 1) * math.radians(max_degrees)  # (B,)
    scale = 1.0 + (torch.rand(b, 2, generator=generator) * 2 - 1) * max_scale  # (B, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (B, 2, 2)
    xy = torch.einsum("bij,btj->bti", rot, xy * scale[:, None, :])
    big = 1e6 * (1.0 - mask)
    lo = (xy + big).amin(1, keepdim=True)  # (B, 1, 2)
    hi = (xy - big).amax(1, keepdim=True)
    extent = (hi - lo).amax(2, keepdim=True).clamp_min(1e-6)  # (B, 1, 1)
    xy = (xy - lo) / extent
    out = x.clone()
    out[:, :, 0:2] = 2.0 * (xy - 0.5)
    d = torch.zeros_like(xy)
    d[:, 1:] = xy[:, 1:] - xy[:, :-1]
    out[:, :, 2:4] = offset_scale * d
    return out * mask
