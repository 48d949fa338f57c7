"""Degradation ranking: an annotation-free extra loss that teaches q to fall when a sketch is damaged.

GACL alone ties q to how recognisable a sketch is; a sketch with noisy coordinates or with half its strokes
missing can stay recognisable and keep a high q, although a person sees it as worse drawn. For a few
sketches of each batch a damaged copy is made on the fly (coordinate jitter, or a random subset of strokes
dropped) and a hinge asks its q to sit below the clean sketch's by a relative margin:

    L_rank = mean relu(log q(x') - log q(x).detach() + margin)

The clean q is detached, so the loss only pushes damaged sketches down and leaves the GACL balance of clean
sketches alone. No labels are involved: the damage is synthetic. Added scribble strokes, the third family
of the evaluation's corruption test, are deliberately not used here, so they remain a held-out check.
"""

from __future__ import annotations

import torch

from training.augment import keep_points, stroke_bounds, with_positions


def jitter_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float, sigma: tuple[float, float],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian noise on every point, sigma ~ U(sigma) per sketch as a fraction of its longest side (which
    is 1 in the model's frame), then renormalised. x (B, T, 7) -> (B, T, 7)."""
    b, t, _ = x.shape
    xy = (x[:, :, 0:2] + 1.0) / 2.0  # (B, T, 2) in [0, 1]
    s = sigma[0] + (sigma[1] - sigma[0]) * torch.rand(b, 1, 1, generator=generator)  # (B, 1, 1)
    xy = xy + s * torch.randn(b, t, 2, generator=generator)
    return with_positions(x, xy, lengths, offset_scale)


def drop_strokes_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float,
                       fraction: tuple[float, float], generator: torch.Generator | None = None,
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each stroke is dropped with probability r ~ U(fraction) per sketch; at least one stroke always goes
    and at least one always stays. x (B, T, 7) -> (x', lengths', damaged (B,) bool: False for one-stroke
    sketches, which are returned unchanged)."""
    b, t, _ = x.shape
    valid, first, _ = stroke_bounds(x, lengths)
    starts = valid & (first == torch.arange(t).expand(b, t))  # (B, T) first point of each stroke
    stroke_id = torch.cumsum(starts.to(torch.int64), 1) - 1  # (B, T) 0-based stroke index
    n_strokes = starts.sum(1)  # (B,)
    r = fraction[0] + (fraction[1] - fraction[0]) * torch.rand(b, 1, generator=generator)  # (B, 1)
    u = torch.rand(b, t, generator=generator)  # (B, T): one draw per stroke index
    drop_stroke = u < r  # (B, T) indexed by stroke id
    # at least one dropped: the stroke with the smallest draw; at least one kept: the largest draw
    slot = torch.arange(t).expand(b, t) < n_strokes[:, None]
    u_in = torch.where(slot, u, torch.full_like(u, 2.0))
    drop_stroke.scatter_(1, u_in.argmin(1, keepdim=True), True)
    u_in = torch.where(slot, u, torch.full_like(u, -1.0))
    drop_stroke.scatter_(1, u_in.argmax(1, keepdim=True), False)
    damaged = n_strokes >= 2
    drop = valid & torch.gather(drop_stroke, 1, stroke_id.clamp_min(0)) & damaged[:, None]  # (B, T)
    out, new_lengths = keep_points(x, valid & ~drop)
    last = (new_lengths - 1).clamp_min(0)  # the new last point ends the sketch
    out[torch.arange(b), last, 4:7] = torch.tensor([0.0, 0.0, 1.0])
    xy = (out[:, :, 0:2] + 1.0) / 2.0
    return with_positions(out, xy, new_lengths, offset_scale), new_lengths, damaged


def degrade_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float, jitter: tuple[float, float],
                  drop: tuple[float, float], generator: torch.Generator | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first half of the batch jittered, the second half with strokes dropped.
    -> (x' (B, T, 7), lengths' (B,), usable (B,) bool: the copy really is damaged)."""
    h = x.shape[0] // 2
    xj = jitter_batch(x[:h], lengths[:h], offset_scale, jitter, generator)
    xd, ld, ok = drop_strokes_batch(x[h:], lengths[h:], offset_scale, drop, generator)
    usable = torch.cat([torch.ones(h, dtype=torch.bool), ok])
    return torch.cat([xj, xd]), torch.cat([lengths[:h], ld]), usable


def rank_loss(q_clean: torch.Tensor, q_damaged: torch.Tensor, usable: torch.Tensor, margin: float) -> torch.Tensor:
    """q_clean, q_damaged (B,) raw norms, usable (B,) bool -> scalar hinge on log q (clean detached)."""
    gap = torch.log(q_damaged.clamp_min(1e-6)) - torch.log(q_clean.detach().clamp_min(1e-6)) + margin
    hinge = torch.relu(gap) * usable
    return hinge.sum() / usable.sum().clamp_min(1)
