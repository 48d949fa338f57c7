"""Ramer-Douglas-Peucker polyline simplification (iterative, numpy), as in Quick, Draw!'s pipeline."""

from __future__ import annotations

import numpy as np


def rdp_mask(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Boolean mask of the points of `points` (N, 2) kept by RDP with tolerance `epsilon`.

    The first and last points are always kept. Distance is to the segment's line (to the point itself
    when the segment has zero length), the classic definition used by Google's simplification.
    """
    n = len(points)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        a, b = points[start], points[end]
        inner = points[start + 1 : end]  # (M, 2)
        ab = b - a
        norm = float(np.hypot(ab[0], ab[1]))
        if norm == 0.0:
            dist = np.hypot(inner[:, 0] - a[0], inner[:, 1] - a[1])
        else:
            dist = np.abs(ab[0] * (inner[:, 1] - a[1]) - ab[1] * (inner[:, 0] - a[0])) / norm
        i = int(np.argmax(dist))
        if dist[i] > epsilon:
            mid = start + 1 + i
            keep[mid] = True
            stack.append((start, mid))
            stack.append((mid, end))
    return keep


def rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    return points[rdp_mask(points, epsilon)]
