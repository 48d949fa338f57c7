"""Training augmentation on padded feature batches: random rotation and per-axis scaling, then the
sketch is renormalised exactly as sketchprep.preprocess does (top-left at 0, longest side 1) and its
offset features recomputed, so augmented inputs stay in the frame the model sees at inference."""

from __future__ import annotations

import math

import torch


def augment_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float, max_degrees: float = 10.0,
                  max_scale: float = 0.1, generator: torch.Generator | None = None,
                  mirror_prob: float = 0.0) -> torch.Tensor:
    """x (B, T, 7) -> augmented copy (B, T, 7); padding stays zero. With mirror_prob > 0, each sketch is first
    flipped left-right with that probability (stroke order and direction kept); at 0 no random number is drawn
    for it, so runs without the mirror keep their exact augmentation stream."""
    b = x.shape[0]
    xy = (x[:, :, 0:2] + 1.0) / 2.0  # (B, T, 2) back to [0, 1]
    if mirror_prob > 0:
        flip = torch.rand(b, generator=generator) < mirror_prob  # (B,)
        xy = torch.where(flip[:, None, None], xy * torch.tensor([-1.0, 1.0], dtype=xy.dtype), xy)
    angle = (torch.rand(b, generator=generator) * 2 - 1) * math.radians(max_degrees)  # (B,)
    scale = 1.0 + (torch.rand(b, 2, generator=generator) * 2 - 1) * max_scale  # (B, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (B, 2, 2)
    xy = torch.einsum("bij,btj->bti", rot, xy * scale[:, None, :])
    return with_positions(x, xy, lengths, offset_scale)


def with_positions(x: torch.Tensor, xy: torch.Tensor, lengths: torch.Tensor, offset_scale: float) -> torch.Tensor:
    """x (B, T, 7) with its points moved to xy (B, T, 2): renormalised as sketchprep.preprocess does (top-left
    at 0, longest side 1), positions and offsets rewritten, pen states kept, padding zero."""
    t = x.shape[1]
    mask = (torch.arange(t)[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]  # (B, T, 1)
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


def stroke_bounds(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For every point of x (B, T, 7): (valid, first index of its stroke, last index of its stroke), (B, T) each.
    A stroke ends at a pen-up or end-of-sketch point; the next point starts a new stroke."""
    b, t, _ = x.shape
    idx = torch.arange(t).expand(b, t)
    valid = idx < lengths[:, None]
    ends = ((x[:, :, 5] > 0.5) | (x[:, :, 6] > 0.5)) & valid  # (B, T)
    starts = torch.zeros_like(ends)
    starts[:, 0] = True
    starts[:, 1:] = ends[:, :-1]
    first = torch.cummax(torch.where(starts, idx, torch.zeros_like(idx)), dim=1).values
    big = torch.full_like(idx, t - 1)
    last = torch.flip(torch.cummin(torch.flip(torch.where(ends, idx, big), [1]), dim=1).values, [1])
    return valid, first, last


def resample_batch(x: torch.Tensor, lengths: torch.Tensor, max_drop: float = 0.5, reverse_prob: float = 0.5,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Point-density and direction augmentation, x (B, T, 7) -> (x', lengths'):

    - coarsening: each sketch draws a rate r ~ U(0, max_drop) and drops each interior point of a stroke (not
      its first or last) with probability r, as a coarser simplification of the same drawing would;
    - reversal: with probability reverse_prob a sketch has every stroke drawn backwards (stroke order and
      pen states kept).

    Offsets (features 2:4) are left stale: augment_batch recomputes them (and renormalises) afterwards."""
    b, t, _ = x.shape
    valid, first, last = stroke_bounds(x, lengths)
    idx = torch.arange(t).expand(b, t)
    flip = torch.rand(b, generator=generator) < reverse_prob  # (B,)
    src = torch.where(flip[:, None] & valid, first + last - idx, idx)  # (B, T)
    out = x.clone()
    out[:, :, 0:2] = torch.gather(x[:, :, 0:2], 1, src[:, :, None].expand(b, t, 2))
    rate = torch.rand(b, generator=generator) * max_drop  # (B,)
    interior = valid & (idx != first) & (idx != last)
    drop = interior & (torch.rand(b, t, generator=generator) < rate[:, None])
    return keep_points(out, valid & ~drop)


def keep_points(x: torch.Tensor, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, T, F), keep (B, T) bool -> (x' (B, T, F) with the kept points first, in order, zero after;
    lengths' (B,)). Features are copied as they are (offsets and pen states are the caller's business)."""
    b, t, f = x.shape
    idx = torch.arange(t).expand(b, t)
    order = torch.sort((~keep).to(torch.int64) * t + idx, dim=1).indices  # (B, T) kept points first
    out = torch.gather(x, 1, order[:, :, None].expand(b, t, f))
    new_lengths = keep.sum(1)
    mask = (torch.arange(t)[None, :] < new_lengths[:, None]).to(out.dtype)[:, :, None]
    return out * mask, new_lengths
