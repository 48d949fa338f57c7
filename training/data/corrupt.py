"""Sketch corruptions for the evaluation's monotonicity test (numpy only).

All work in the sketch's own frame: sizes are fractions of its bounding box's longest side, so the same
severity means the same thing for any coordinate scale. Severity levels are 1, 2, 3.
"""

from __future__ import annotations

import numpy as np

from sketchprep.strokes import Sketch, box

JITTER_SIGMA = {1: 0.01, 2: 0.03, 3: 0.06}  # Gaussian noise per point, x extent
DROP_FRACTION = {1: 0.15, 2: 0.3, 3: 0.5}  # fraction of strokes removed (at least one, never all)
SCRIBBLES = {1: 1, 2: 2, 3: 3}  # random scribble strokes added
KINDS = ("jitter", "drop", "scribble")


def corruption_series(strokes: Sketch, kind: str, rng: np.random.Generator) -> list[Sketch] | None:
    """The sketch at severities 1, 2, 3 of one corruption, nested so that each level only adds damage:
    the same noise directions scaled up, a growing set of dropped strokes, scribbles added one by one.
    None for `drop` on a single-stroke sketch (nothing can be dropped)."""
    lo, ext = box(strokes)
    levels = (1, 2, 3)
    if kind == "jitter":
        noise = [rng.standard_normal(s.shape) for s in strokes]
        return [[s + z * JITTER_SIGMA[k] * ext for s, z in zip(strokes, noise, strict=True)] for k in levels]
    if kind == "drop":
        n = len(strokes)
        if n < 2:
            return None
        order = rng.permutation(n)
        out = []
        for k in levels:
            drop = set(order[: min(n - 1, max(1, round(DROP_FRACTION[k] * n)))].tolist())
            out.append([s for i, s in enumerate(strokes) if i not in drop])
        return out
    if kind == "scribble":
        extra = [random_scribble(lo, ext, rng) for _ in range(SCRIBBLES[3])]
        return [list(strokes) + extra[: SCRIBBLES[k]] for k in levels]
    raise ValueError(f"unknown corruption {kind!r}; expected one of {KINDS}")


def random_scribble(lo: np.ndarray, ext: float, rng: np.random.Generator, points: int = 20) -> np.ndarray:
    """A random-walk stroke starting anywhere in the box, steps ~ 8% of the extent."""
    start = lo + rng.uniform(0, ext, 2)
    steps = rng.normal(0.0, 0.08 * ext, (points - 1, 2))
    return np.vstack([start, start + np.cumsum(steps, axis=0)])
