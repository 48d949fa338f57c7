"""A differentiable torch twin of `sketchprep.preprocess.sketch_to_points` for padded batches.

`sketchprep/preprocess.py` is the one source of truth; this reproduces its features exactly (up to float
rounding) for sketches of at most `max_points` points, i.e. those that need no RDP re-simplification
(RDP is a discrete selection with no useful gradient; a sketch longer than max_points is an error here):

    1. normalise: top-left of the bounding box to (0, 0), divide by the longest side (by 1 if it is 0)
    2. per point: 2(x - 0.5), 2(y - 0.5), offset_scale * (dx, dy) from the previous point (0 for the first),
       pen one-hot: pen-down, pen-up (last point of a stroke), end (the very last point)
    3. zero features after each sketch's last point

Gradients flow to the coordinates (through the normalisation too) and, when `alive` is given as a float
mask with straight-through gradients (training.sketchrnn.decode), to the pen and end-of-sketch choices.
"""

from __future__ import annotations

import torch

from sketchprep.preprocess import PreprocessConfig


def points_to_features(xy: torch.Tensor, pen_up: torch.Tensor, alive: torch.Tensor,
                       cfg: PreprocessConfig | None = None) -> torch.Tensor:
    """xy (B, N, 2) absolute points, pen_up (B, N) 1 at the last point of each stroke, alive (B, N) 1 on the
    sketch's points then 0 (a prefix mask, at least one point) -> features (B, N, 7) like sketch_to_points."""
    cfg = cfg or PreprocessConfig()
    n = xy.shape[1]
    valid = alive.detach() > 0.5  # (B, N) hard mask for the bounding box
    counts = valid.sum(1)
    if n > cfg.max_points and bool((counts > cfg.max_points).any()):
        raise ValueError(f"a sketch has more than max_points={cfg.max_points} points: the numpy path would "
                         "re-simplify it with RDP, which has no differentiable twin")
    big = torch.finfo(xy.dtype).max / 4
    lo = torch.where(valid[..., None], xy, big).amin(1, keepdim=True)  # (B, 1, 2)
    hi = torch.where(valid[..., None], xy, -big).amax(1, keepdim=True)  # (B, 1, 2)
    extent = (hi - lo).amax(2, keepdim=True)  # (B, 1, 1)
    scale = torch.where(extent > 0, extent, torch.ones_like(extent))
    xyn = (xy - lo) / scale  # (B, N, 2) in [0, 1] on valid points
    d = torch.cat([torch.zeros_like(xyn[:, :1]), xyn[:, 1:] - xyn[:, :-1]], dim=1)  # (B, N, 2)
    nxt = torch.cat([alive[:, 1:], torch.zeros_like(alive[:, :1])], dim=1)  # (B, N) alive of the next point
    last = alive * (1.0 - nxt)  # (B, N) 1 at the very last point
    up = pen_up * (1.0 - last)
    down = (1.0 - pen_up) * (1.0 - last)
    feats = torch.cat([2.0 * (xyn - 0.5), cfg.offset_scale * d, down[..., None], up[..., None], last[..., None]],
                      dim=2)  # (B, N, 7)
    return feats * alive[..., None]


def stroke5_to_features(rows: torch.Tensor, alive: torch.Tensor | None = None,
                        cfg: PreprocessConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Stroke-5 rows (B, T, 5) (training.sketchrnn.data's convention: the sketch starts at the origin with the
    pen down, row i is point i+1) -> (features (B, T + 1, 7), point counts (B,) int64).

    alive (B, T): 1 on real rows; default: rows before the first end-of-sketch row (arg-max pen = 2).
    """
    if alive is None:
        ended = (rows[..., 2:5].argmax(-1) == 2).to(rows.dtype)  # (B, T)
        alive = 1.0 - (torch.cumsum(ended, dim=1) > 0).to(rows.dtype)
    ones = torch.ones_like(alive[:, :1])
    xy = torch.cat([torch.zeros_like(rows[:, :1, 0:2]), torch.cumsum(rows[..., 0:2], dim=1)], dim=1)  # (B, T+1, 2)
    pen_up = torch.cat([torch.zeros_like(ones), rows[..., 3]], dim=1)  # (B, T+1) the origin: pen down
    alive_pts = torch.cat([ones, alive], dim=1)  # (B, T+1)
    lengths = alive_pts.detach().sum(1).round().to(torch.int64)
    return points_to_features(xy, pen_up, alive_pts, cfg), lengths


def strokes_to_batch(sketches: list[list], dtype: torch.dtype = torch.float32):
    """Absolute strokes (lists of (N_i, 2) arrays) -> xy (B, N, 2), pen_up (B, N), alive (B, N), for tests and
    callers that hold sketches rather than stroke-5 rows."""
    counts = [sum(len(s) for s in sk) for sk in sketches]
    n = max(counts)
    xy = torch.zeros(len(sketches), n, 2, dtype=dtype)
    pen_up = torch.zeros(len(sketches), n, dtype=dtype)
    alive = torch.zeros(len(sketches), n, dtype=dtype)
    for b, sk in enumerate(sketches):
        k = 0
        for s in sk:
            if len(s) == 0:
                continue
            s = torch.as_tensor(s, dtype=dtype)
            xy[b, k : k + len(s)] = s
            k += len(s)
            pen_up[b, k - 1] = 1.0
        alive[b, :k] = 1.0
    return xy, pen_up, alive
