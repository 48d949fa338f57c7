"""Degradation ranking: an annotation-free extra loss that teaches q to fall when a sketch is damaged.

GACL alone ties q to how recognisable a sketch is; a sketch with noisy coordinates, with half its strokes
missing or with unrelated strokes added can stay recognisable and keep a high q, although a person sees it
as worse drawn. For a few sketches of each batch a damaged copy is made on the fly and a hinge asks its q to
sit below the clean sketch's by a relative margin:

    L_rank = mean relu(log q(x') - log q(x).detach() + margin)

The clean q is detached, so the loss only pushes damaged sketches down and leaves the GACL balance of clean
sketches alone. No labels are involved: the damage is synthetic. Kinds of damage: `jitter` (Gaussian noise
on every point), `drop` (a random subset of strokes removed), `add` (1-3 strokes of other real training
sketches pasted in at random places), `scrawl` (the same foreign strokes redrawn by a shaky hand: resampled
along their length and moved by Gaussian noise, a messy addition rather than a clean detail), `detail` (only
the strokes with the most ink kept: the drawing without its details), `wobble` (the drawing's own strokes
redrawn by an unsteady hand: resampled along their length, moved by a smooth drift and simplified as the data
is, so a straight line becomes a wavering one with more points) and `collage` (the sketch replaced by as
many foreign real strokes placed at random: pen strokes that draw nothing). Added strokes are always real pen
strokes (shaken, for `scrawl`), never the synthetic scribbles (random walks, random curves, zig-zags) of the
evaluation's corruption test and of the attribution set (training/data/attribution_set.py), so those stay
held-out checks.
"""

from __future__ import annotations

import numpy as np
import torch

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from sketchprep.strokes import Sketch
from training.data.augment import keep_points, stroke_bounds, with_positions
from training.losses.stroke_damage import add_foreign_strokes, collage, points_to_strokes, wobbled


def jitter_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float, sigma: tuple[float, float],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian noise on every point, sigma ~ U(sigma) per sketch as a fraction of its longest side (which
    is 1 in the model's frame), then renormalised. x (B, T, 7) -> (B, T, 7)."""
    b, t, _ = x.shape
    xy = (x[:, :, 0:2] + 1.0) / 2.0  # (B, T, 2) in [0, 1]
    s = sigma[0] + (sigma[1] - sigma[0]) * torch.rand(b, 1, 1, generator=generator)  # (B, 1, 1)
    xy = xy + s * torch.randn(b, t, 2, generator=generator)
    return with_positions(x, xy, lengths, offset_scale)


def _stroke_ids(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> (valid (B, T) bool, stroke_id (B, T) 0-based stroke index of each point, n_strokes (B,))."""
    b, t, _ = x.shape
    valid, first, _ = stroke_bounds(x, lengths)
    starts = valid & (first == torch.arange(t).expand(b, t))  # (B, T) first point of each stroke
    stroke_id = torch.cumsum(starts.to(torch.int64), 1) - 1  # (B, T)
    return valid, stroke_id, starts.sum(1)


def _remove_strokes(x: torch.Tensor, offset_scale: float, valid: torch.Tensor, stroke_id: torch.Tensor,
                    drop_stroke: torch.Tensor, damaged: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove the strokes flagged in drop_stroke (B, T, indexed by stroke id) of the `damaged` (B,) sketches;
    the new last point ends the sketch. -> (x' (B, T, 7), lengths' (B,))."""
    b = x.shape[0]
    drop = valid & torch.gather(drop_stroke, 1, stroke_id.clamp_min(0)) & damaged[:, None]  # (B, T)
    out, new_lengths = keep_points(x, valid & ~drop)
    last = (new_lengths - 1).clamp_min(0)
    out[torch.arange(b), last, 4:7] = torch.tensor([0.0, 0.0, 1.0])
    xy = (out[:, :, 0:2] + 1.0) / 2.0
    return with_positions(out, xy, new_lengths, offset_scale), new_lengths


def drop_strokes_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float,
                       fraction: tuple[float, float], generator: torch.Generator | None = None,
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each stroke is dropped with probability r ~ U(fraction) per sketch; at least one stroke always goes
    and at least one always stays. x (B, T, 7) -> (x', lengths', damaged (B,) bool: False for one-stroke
    sketches, which are returned unchanged)."""
    b, t, _ = x.shape
    valid, stroke_id, n_strokes = _stroke_ids(x, lengths)
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
    out, new_lengths = _remove_strokes(x, offset_scale, valid, stroke_id, drop_stroke, damaged)
    return out, new_lengths, damaged


def prefix_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float, keep: tuple[float, float],
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An unfinished drawing: only the first k of its n strokes, k = floor(r n) with r ~ U(keep) per sketch,
    clamped to 1..n-1 (the drawing as it stood before the player added the rest). x (B, T, 7) ->
    (x', lengths', damaged (B,) bool: False for one-stroke sketches, returned unchanged)."""
    b, t, _ = x.shape
    valid, stroke_id, n_strokes = _stroke_ids(x, lengths)
    r = keep[0] + (keep[1] - keep[0]) * torch.rand(b, generator=generator)  # (B,)
    k = torch.minimum(torch.floor(r * n_strokes).to(torch.int64).clamp_min(1), (n_strokes - 1).clamp_min(1))
    drop_stroke = torch.arange(t).expand(b, t) >= k[:, None]  # (B, T) indexed by stroke id
    damaged = n_strokes >= 2
    out, new_lengths = _remove_strokes(x, offset_scale, valid, stroke_id, drop_stroke, damaged)
    return out, new_lengths, damaged


def stroke_ink(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ink (pen path length in the model's frame) of every stroke. x (B, T, 7) -> (ink (B, T) indexed by
    stroke id, 0 past the last stroke; valid (B, T); stroke_id (B, T); n_strokes (B,))."""
    valid, stroke_id, n_strokes = _stroke_ids(x, lengths)
    seg = torch.zeros(x.shape[:2])  # (B, T): length of the segment ending at each point
    seg[:, 1:] = torch.linalg.vector_norm(x[:, 1:, 0:2] - x[:, :-1, 0:2], dim=-1)
    same = torch.zeros_like(valid)
    same[:, 1:] = valid[:, 1:] & (stroke_id[:, 1:] == stroke_id[:, :-1])  # the segment lies inside one stroke
    ink = torch.zeros(x.shape[:2]).scatter_add_(1, stroke_id.clamp_min(0), seg * same)
    return ink, valid, stroke_id, n_strokes


def detail_batch(x: torch.Tensor, lengths: torch.Tensor, offset_scale: float, keep: tuple[float, float],
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The drawing without its details: only the k of its n strokes with the most ink, k = floor(r n) with
    r ~ U(keep) per sketch, clamped to 1..n-1, kept in their order; the short strokes (eyes, whiskers, clock
    hands: what people reward and a bare outline lacks) go. x (B, T, 7) -> (x', lengths', damaged (B,)
    bool: False for one-stroke sketches, returned unchanged)."""
    b, t, _ = x.shape
    ink, valid, stroke_id, n_strokes = stroke_ink(x, lengths)
    r = keep[0] + (keep[1] - keep[0]) * torch.rand(b, generator=generator)  # (B,)
    k = torch.minimum(torch.floor(r * n_strokes).to(torch.int64).clamp_min(1), (n_strokes - 1).clamp_min(1))
    slot = torch.arange(t).expand(b, t) < n_strokes[:, None]  # (B, T) stroke ids in use
    # rank of each stroke by ink, most first (ties: the earlier stroke first); slots past the end rank last
    order = torch.argsort(torch.where(slot, -ink, torch.full_like(ink, float("inf"))), dim=1, stable=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(t).expand(b, t))  # (B, T)
    drop_stroke = slot & (rank >= k[:, None])  # (B, T) indexed by stroke id
    damaged = n_strokes >= 2
    out, new_lengths = _remove_strokes(x, offset_scale, valid, stroke_id, drop_stroke, damaged)
    return out, new_lengths, damaged


KINDS = ("jitter", "drop", "prefix", "detail", "add", "scrawl", "wobble", "collage")


def pad_to(x: torch.Tensor, t: int) -> torch.Tensor:
    return torch.nn.functional.pad(x, (0, 0, 0, t - x.shape[1]))


def _from_strokes(sketches: list[Sketch], pre: PreprocessConfig) -> tuple[torch.Tensor, torch.Tensor]:
    pts, lens = collate([sketch_to_points(s, pre) for s in sketches])
    return torch.from_numpy(pts), torch.from_numpy(lens)


def degrade_batch(x: torch.Tensor, lengths: torch.Tensor, donors: torch.Tensor, donor_lengths: torch.Tensor,
                  pre: PreprocessConfig, kinds: tuple[str, ...], jitter: tuple[float, float],
                  drop: tuple[float, float], rng: np.random.Generator, generator: torch.Generator | None = None,
                  prefix: tuple[float, float] = (0.3, 0.8)) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Damaged copies of x (B, T, 7): the batch is cut into len(kinds) consecutive parts, one per kind
    (jitter, drop: strokes dropped, prefix: only the first strokes kept, detail: only the strokes with the
    most ink kept, add: foreign strokes added, scrawl: shaken foreign strokes added, wobble: its own strokes
    redrawn by an unsteady hand, collage: replaced by a collage of foreign strokes with as many strokes as the
    sketch). Foreign strokes come from `donors` (D, T', 7), other real training sketches.
    -> (x' (B, T'', 7), lengths' (B,), usable (B,) bool: the copy really is damaged)."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown degradation {sorted(unknown)}; expected some of {KINDS}")
    donor_strokes: list[Sketch] = []
    if {"add", "scrawl", "collage"} & set(kinds):  # only these paste foreign strokes
        donor_strokes = [points_to_strokes(donors[i, : int(donor_lengths[i])].numpy()) for i in range(len(donors))]
        if not donor_strokes:
            raise ValueError("the add and collage degradations need at least one donor sketch")
    parts = []
    for kind, idx in zip(kinds, np.array_split(np.arange(len(x)), len(kinds)), strict=True):
        xi, li = x[idx], lengths[idx]
        if kind == "jitter":
            xj = jitter_batch(xi, li, pre.offset_scale, jitter, generator)
            parts.append((xj, li, torch.ones(len(idx), dtype=torch.bool)))
        elif kind == "drop":
            parts.append(drop_strokes_batch(xi, li, pre.offset_scale, drop, generator))
        elif kind == "prefix":
            parts.append(prefix_batch(xi, li, pre.offset_scale, prefix, generator))
        elif kind == "detail":  # the same share of strokes kept as `prefix`, the longest ones
            parts.append(detail_batch(xi, li, pre.offset_scale, prefix, generator))
        else:
            own = [points_to_strokes(xi[k, : int(li[k])].numpy()) for k in range(len(idx))]
            if kind in ("add", "scrawl"):
                made = [add_foreign_strokes(s, donor_strokes, rng, shake=kind == "scrawl") for s in own]
            elif kind == "wobble":
                made = [wobbled(s, rng) for s in own]
            else:
                made = [collage(len(s), donor_strokes, rng) for s in own]
            xk, lk = _from_strokes(made, pre)
            parts.append((xk, lk, torch.ones(len(idx), dtype=torch.bool)))
    t = max(p[0].shape[1] for p in parts)
    return (torch.cat([pad_to(p[0], t) for p in parts]), torch.cat([p[1] for p in parts]),
            torch.cat([p[2] for p in parts]))


def rank_loss(q_clean: torch.Tensor, q_damaged: torch.Tensor, usable: torch.Tensor, margin: float,
              log_reference: torch.Tensor | None = None) -> torch.Tensor:
    """q_clean, q_damaged (B,) raw norms, usable (B,) bool -> scalar hinge on log q (clean detached).
    `log_reference` (B,): a log q the damaged copy must also stay below (other clean drawings of its class,
    ClassReference); the hinge then uses the lower of the two."""
    ref = torch.log(q_clean.detach().clamp_min(1e-6))
    if log_reference is not None:
        ref = torch.minimum(ref, log_reference.detach())
    gap = torch.log(q_damaged.clamp_min(1e-6)) - ref + margin
    hinge = torch.relu(gap) * usable
    return hinge.sum() / usable.sum().clamp_min(1)


class ClassReference:
    """Running mean of log q over clean training sketches, per class: the level a damaged copy must fall
    below when the ranking compares it with *other* clean drawings of its category, not only its own
    original (issue 12: a within-drawing ranking alone does not reorder different drawings)."""

    def __init__(self, num_classes: int, momentum: float = 0.98):
        self.log_q = torch.zeros(num_classes)  # (C,)
        self.seen = torch.zeros(num_classes, dtype=torch.bool)  # (C,)
        self.momentum = momentum

    def update(self, q: torch.Tensor, y: torch.Tensor) -> None:
        """q (B,) clean norms, y (B,) classes."""
        lq = torch.log(q.detach().clamp_min(1e-6)).cpu()
        y = y.cpu()
        sums = torch.zeros_like(self.log_q).index_add_(0, y, lq)
        counts = torch.zeros_like(self.log_q).index_add_(0, y, torch.ones_like(lq))
        present = counts > 0
        mean = sums[present] / counts[present]
        old = self.log_q[present]
        self.log_q[present] = torch.where(self.seen[present], self.momentum * old + (1 - self.momentum) * mean, mean)
        self.seen |= present

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        """y (B,) -> (B,) reference log q (+inf for classes not seen yet: no extra constraint)."""
        ref = torch.where(self.seen, self.log_q, torch.full_like(self.log_q, float("inf")))
        return ref[y.cpu()].to(y.device)
