"""Ramer-Douglas-Peucker polyline simplification (iterative, numpy), as in Quick, Draw!'s pipeline.

`rdp_importance` runs the RDP recursion once to the bottom and gives every point the smallest split
distance on its path from the root: RDP with tolerance eps keeps exactly the points whose importance
exceeds eps (a split happens at the same point for every eps, as long as its distance exceeds eps). So
one pass answers every tolerance, which is what re-simplifying a long sketch at growing tolerances needs.
"""

from __future__ import annotations

import numpy as np


def _segment_distances(points: np.ndarray, start: int, end: int) -> np.ndarray:
    a, b = points[start], points[end]
    inner = points[start + 1 : end]  # (M, 2)
    ab = b - a
    norm = float(np.hypot(ab[0], ab[1]))
    if norm == 0.0:
        return np.hypot(inner[:, 0] - a[0], inner[:, 1] - a[1])
    return np.abs(ab[0] * (inner[:, 1] - a[1]) - ab[1] * (inner[:, 0] - a[0])) / norm


SMALL_SEGMENT = 24  # inner points up to which a split is computed in plain Python (faster than numpy there)


def _split_small(xs: list[float], ys: list[float], start: int, end: int) -> tuple[int, float]:
    """The inner point of segment start..end farthest from its line, and its distance: the same float64
    operations in the same order as `_segment_distances`, so the same bits (first maximum on ties)."""
    ax, ay = xs[start], ys[start]
    abx, aby = xs[end] - ax, ys[end] - ay
    norm = float(np.hypot(abx, aby))
    best, best_i = -1.0, start + 1
    for i in range(start + 1, end):
        if norm == 0.0:
            d = float(np.hypot(xs[i] - ax, ys[i] - ay))
        else:
            d = abs(abx * (ys[i] - ay) - aby * (xs[i] - ax)) / norm
        if d > best:
            best, best_i = d, i
    return best_i, best


def rdp_importance(points: np.ndarray, small: int = SMALL_SEGMENT) -> np.ndarray:
    """(N,) importance of each point of `points` (N, 2); the two end points get +inf. Segments of up to
    `small` inner points are split in plain Python, larger ones with numpy (the same numbers either way)."""
    n = len(points)
    imp = np.full(n, np.inf)
    xs, ys = points[:, 0].tolist(), points[:, 1].tolist()
    stack = [(0, n - 1, np.inf)]  # segment and the smallest split distance above it
    while stack:
        start, end, ceiling = stack.pop()
        if end - start < 2:
            continue
        if end - start - 1 <= small:
            mid, dist = _split_small(xs, ys, start, end)
        else:
            d = _segment_distances(points, start, end)
            i = int(np.argmax(d))
            mid, dist = start + 1 + i, float(d[i])
        imp[mid] = min(ceiling, dist)
        stack.append((start, mid, imp[mid]))
        stack.append((mid, end, imp[mid]))
    return imp


def rdp_mask(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Boolean mask of the points of `points` (N, 2) kept by RDP with tolerance `epsilon`.

    The first and last points are always kept. Distance is to the segment's line (to the point itself
    when the segment has zero length), the classic definition used by Google's simplification.
    """
    return rdp_importance(points) > epsilon


def rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    return points[rdp_mask(points, epsilon)]
