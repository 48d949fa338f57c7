"""The in-memory sketch: a list of strokes, each an (N, 2) float64 array of absolute x, y.

Conversions from the wire formats people have (Quick, Draw! `drawing` lists, lists of [x, y] points,
Sketch-RNN stroke-3)
and back. Validation of untrusted input lives in the service; these functions assume well-formed
arrays and never divide by anything that can be zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate, chain
from typing import NamedTuple

import numpy as np

Sketch = list[np.ndarray]  # strokes, each (N_i, 2) absolute coordinates


class FlatSketch(NamedTuple):
    """A sketch as one array: every stroke's points one after another, and how many points each stroke has.

    The service's hot path builds this straight from the parsed JSON (one array per sketch instead of one per
    stroke); `sketchprep.preprocess.flat_to_points` turns it into the model's input, bit-identical to
    `sketch_to_points` on the same strokes.
    """

    xy: np.ndarray  # (N, 2) float64 absolute x, y
    lengths: list[int]  # points per stroke, sum = N; a stroke may have 0 points

    def strokes(self) -> Sketch:
        """Back to one (N_i, 2) array per stroke (views into xy)."""
        ends = list(accumulate(self.lengths))
        return [self.xy[start:end] for start, end in zip([0, *ends], ends, strict=False)]  # (N_i, 2) each


def mirrored(strokes: Sketch) -> Sketch:
    """The sketch flipped left-right (x -> -x), stroke order and direction kept: the same drawing to a person.
    Preprocessing moves the top-left to 0 again, so where the mirror axis lies does not matter."""
    return [np.column_stack([-s[:, 0], s[:, 1]]) for s in strokes]  # (N_i, 2) each


# The wire formats a sketch may come in (the service shows them with every error about a sketch's shape).
WIRE_FORMATS = (
    '{"strokes": [[[x0, x1, ...], [y0, y1, ...]], ...]} (Quick, Draw!: per stroke its xs and ys, optionally '
    'a third row of non-decreasing times), e.g. {"strokes": [[[0, 10, 20], [0, 10, 0]]]}',
    '{"points": [[[x, y], [x, y], ...], ...]} (per stroke a list of [x, y] points), '
    'e.g. {"points": [[[0, 0], [10, 10], [20, 0]]]}',
    '{"stroke3": [[dx, dy, pen], ...]} (Sketch-RNN: offsets, pen 1 lifts the pen after the point), '
    'e.g. {"stroke3": [[0, 0, 0], [10, 10, 0], [10, -10, 1]]}',
)


def strokes_from_drawing(drawing: Sequence[Sequence[Sequence[float]]]) -> Sketch:
    """Quick, Draw! `drawing` ([[xs, ys(, ts)], ...]) to strokes; a time row is ignored. Built as one array
    (`flat_from_drawing`) and cut into per-stroke views: 4-5x cheaper than an array per stroke."""
    return flat_from_drawing(drawing).strokes()


def flat_from_drawing(drawing: Sequence[Sequence[Sequence[float]]]) -> FlatSketch:
    """Quick, Draw! `drawing` ([[xs, ys(, ts)], ...]) to one array (a time row is ignored): the same numbers
    as `strokes_from_drawing`, built with one numpy conversion for the whole sketch (`flats_from_drawings`)."""
    return flats_from_drawings([drawing])[1][0]


def flats_from_drawings(drawings: Sequence[Sequence[Sequence[Sequence[float]]]]) -> tuple[np.ndarray, list[FlatSketch]]:
    """Many Quick, Draw! drawings (a time row is ignored) -> one (N, 2) float64 array of all their points and one
    FlatSketch per drawing (views into it): the same numbers as `flat_from_drawing` on each, with one numpy
    conversion for all of them (a request's sketches: the service's hot path)."""
    lengths = [[len(stroke[0]) for stroke in drawing] for drawing in drawings]
    if [[len(stroke[1]) for stroke in drawing] for drawing in drawings] != lengths:
        raise ValueError("a stroke's xs and ys differ in length")
    xs = list(chain.from_iterable(stroke[0] for drawing in drawings for stroke in drawing))
    ys = list(chain.from_iterable(stroke[1] for drawing in drawings for stroke in drawing))
    xy = np.array((xs, ys), dtype=np.float64).T  # (N, 2), a view of the (2, N) array
    ends = list(accumulate(sum(n) for n in lengths))
    return xy, [FlatSketch(xy[start:end], n) for start, end, n in zip([0, *ends], ends, lengths, strict=False)]


def flat_from_strokes(strokes: Sketch) -> FlatSketch:
    """Strokes (each (N_i, 2)) to one array; strokes without points are left out."""
    strokes = [s for s in strokes if len(s) > 0]
    if len(strokes) == 1:
        return FlatSketch(np.asarray(strokes[0]), [len(strokes[0])])  # no copy
    xy = np.concatenate(strokes, axis=0) if strokes else np.zeros((0, 2))  # (N, 2)
    return FlatSketch(xy, [len(s) for s in strokes])


def flat_from_points(points: Sequence[Sequence[Sequence[float]]]) -> FlatSketch:
    """Point lists ([[[x, y], ...], ...]) to one array, the same numbers as `strokes_from_points`."""
    flat = list(chain.from_iterable(points))
    return FlatSketch(np.array(flat, dtype=np.float64).reshape(-1, 2), [len(stroke) for stroke in points])


def strokes_from_points(points: Sequence[Sequence[Sequence[float]]]) -> Sketch:
    """Point lists ([[[x, y], ...], ...]: per stroke its [x, y] points) to strokes."""
    return [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) for stroke in points]  # (N, 2) each


def strokes_to_drawing(strokes: Sketch, decimals: int | None = None) -> list[list[list[float]]]:
    """Strokes back to the Quick, Draw! `drawing` JSON shape."""
    out = []
    for s in strokes:
        arr = np.round(s, decimals) if decimals is not None else s
        out.append([arr[:, 0].tolist(), arr[:, 1].tolist()])
    return out


def stroke3_to_strokes(stroke3: np.ndarray) -> Sketch:
    """Sketch-RNN stroke-3 rows (dx, dy, pen_lifted_after_this_point) to absolute strokes.

    The first row's offset is taken from the origin. A trailing stroke without a final pen-up is kept.
    """
    arr = np.asarray(stroke3, dtype=np.float64).reshape(-1, 3)  # (N, 3)
    if len(arr) == 0:
        return []
    xy = np.cumsum(arr[:, :2], axis=0)  # (N, 2) absolute
    ends = np.flatnonzero(arr[:, 2] > 0.5) + 1
    pieces = np.split(xy, ends)
    return [p for p in pieces if len(p) > 0]


def strokes_to_stroke3(strokes: Sketch) -> np.ndarray:
    """Absolute strokes to stroke-3 (N, 3): offsets from the previous point, pen lifted at stroke ends."""
    if not strokes:
        return np.zeros((0, 3), dtype=np.float64)
    xy = np.concatenate(strokes, axis=0)  # (N, 2)
    pen = np.zeros(len(xy))
    pen[np.cumsum([len(s) for s in strokes]) - 1] = 1.0
    offsets = np.diff(xy, axis=0, prepend=np.zeros((1, 2)))
    return np.concatenate([offsets, pen[:, None]], axis=1)


def point_count(strokes: Sketch) -> int:
    return int(sum(len(s) for s in strokes))


def box(strokes: Sketch, min_side: float = 1.0) -> tuple[np.ndarray, float]:
    """(top-left corner (2,), longest side of the bounding box, at least `min_side`); at least one point."""
    xy = np.concatenate(strokes)
    lo = xy.min(0)
    return lo, max(float((xy.max(0) - lo).max()), min_side)
