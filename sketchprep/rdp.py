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


def rdp_importance(points: np.ndarray) -> np.ndarray:
    """(N,) importance of each point of `points` (N, 2); the two end points get +inf."""
    n = len(points)
    imp = np.full(n, np.inf)
    stack = [(0, n - 1, np.inf)]  # segment and the smallest split distance above it
    while stack:
        start, end, ceiling = stack.pop()
        if end - start < 2:
            continue
        dist = _segment_distances(points, start, end)
        i = int(np.argmax(dist))
        mid = start + 1 + i
        imp[mid] = min(ceiling, float(dist[i]))
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
