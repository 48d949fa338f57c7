"""A Quick, Draw! drawing, as parsed from JSON, -> the model's (T, 7) float32 features in one compiled pass.

`sketchprep.preprocess.flat_to_points` is the implementation; this is the same computation for the common case
(a drawing of at most max_points points), written in C (sketchprep/_native.c) for the service's request path,
where a dozen numpy calls on a 50-point sketch cost more than the arithmetic. The C code repeats the reference's
float64 operations in the same order and rounds to float32 once, so the features are bit-identical
(tests/sketchprep/test_native.py, on real sketches and edge cases).

`drawing_features` answers None where the drawing is not the plain shape, and gives no features for a drawing
longer than max_points (it needs re-simplifying): the caller then takes the numpy path. Where the extension was
not built (no C compiler at install time: setup.py marks it optional) `AVAILABLE` is False and every call
answers None, so callers always have the numpy path to fall back on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from sketchprep.preprocess import FEATURE_DIM, PreprocessConfig

try:
    from sketchprep import _native  # type: ignore[attr-defined]
except ImportError:  # not built
    _native = None

AVAILABLE = _native is not None


class DrawingFeatures(NamedTuple):
    points: np.ndarray | None  # (T, 7) float32, or None: more than max_points points (re-simplify with numpy)
    n_points: int  # points as sent
    n_strokes: int
    max_abs: float  # the largest |coordinate|


def drawing_features(drawing: Sequence[Sequence[Sequence[float]]], cfg: PreprocessConfig) -> DrawingFeatures | None:
    """A drawing ([[xs, ys], ...] as lists of floats) -> its features and the counts the input limits need, or
    None where it is not the plain shape (lists of [xs, ys] float lists of equal, non-zero length, all finite,
    no -0.0) or the extension is not built."""
    if _native is None:
        return None
    out = _native.drawing_features(drawing, cfg.max_points, cfg.offset_scale)
    if out is None:
        return None
    buf, n_points, n_strokes, max_abs = out
    points = None if buf is None else np.frombuffer(buf, dtype=np.float32).reshape(n_points, FEATURE_DIM)
    return DrawingFeatures(points, n_points, n_strokes, max_abs)
