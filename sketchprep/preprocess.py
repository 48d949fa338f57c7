"""Any sketch -> the model's input: a (T, 7) float32 array of per-point features.

Steps (the model card records the parameters, the service rebuilds this config from it):
1. Normalise: translate the bounding box's top-left corner to (0, 0) and divide by the longest side,
   so coordinates lie in [0, 1] with the aspect ratio kept. A zero-extent sketch (one point, or all
   points equal) is divided by 1 instead, so it maps to the origin: finite, never NaN.
2. Fit the length: a sketch of more than `max_points` points is simplified again with
   Ramer-Douglas-Peucker at growing tolerances (in normalised units, starting at `rdp_start`, x1.5 a
   step) until it fits; if even two points a stroke do not fit, the first `max_points` points are kept.
3. Features per point: 2(x-0.5), 2(y-0.5), offset_scale*dx, offset_scale*dy (offset from the previous
   point, 0 for the first), then the stroke-5 pen one-hot: pen-down (the pen stays down to the next
   point), pen-up (last point of a stroke), end-of-sketch (the very last point).

Translating or uniformly scaling the input therefore gives the same features, stroke order is kept, and
batches are padded with zeros after each sketch's last point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import accumulate

import numpy as np

from sketchprep.rdp import rdp_importance
from sketchprep.strokes import FlatSketch, Sketch, flat_from_strokes, point_count

FEATURE_DIM = 7
FEATURE_NAMES = ("x", "y", "dx", "dy", "pen_down", "pen_up", "end")


@dataclass(frozen=True)
class PreprocessConfig:
    max_points: int = 128
    offset_scale: float = 10.0
    rdp_start: float = 0.002

    def to_dict(self) -> dict:
        return {**asdict(self), "feature_dim": FEATURE_DIM, "feature_names": list(FEATURE_NAMES)}

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessConfig:
        return cls(max_points=int(d["max_points"]), offset_scale=float(d["offset_scale"]),
                   rdp_start=float(d["rdp_start"]))


def normalise(strokes: Sketch) -> Sketch:
    """Top-left to the origin, longest side to 1 (aspect ratio kept); zero extent stays at the origin."""
    xy = np.concatenate(strokes, axis=0)  # (N, 2)
    lo = xy.min(axis=0)
    extent = float((xy.max(axis=0) - lo).max())
    scale = extent if extent > 0.0 else 1.0
    return [(s - lo) / scale for s in strokes]


def place_like(strokes: Sketch, like: Sketch) -> Sketch:
    """`strokes` moved and uniformly scaled into `like`'s coordinates: the same longest side, the same
    bounding-box centre (aspect ratio kept). A zero-extent `like` gets a point at its position."""
    ref = np.concatenate(like, axis=0)  # (N, 2)
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    unit = normalise(strokes)  # top-left 0, longest side 1
    xy = np.concatenate(unit, axis=0)
    half = (xy.max(axis=0) + xy.min(axis=0)) / 2.0  # centre of the unit box, (2,)
    extent = float((hi - lo).max())
    centre = (lo + hi) / 2.0
    return [(s - half) * extent + centre for s in unit]


def fit_length(strokes: Sketch, max_points: int, rdp_start: float) -> Sketch:
    """Re-simplify a normalised sketch with RDP at growing tolerance until it has <= max_points points."""
    if point_count(strokes) <= max_points:
        return strokes
    importance = [rdp_importance(s) for s in strokes]  # one RDP pass answers every tolerance
    eps = rdp_start
    while eps < 1.0:
        masks = [imp > eps for imp in importance]
        if sum(int(m.sum()) for m in masks) <= max_points:
            return [s[m] for s, m in zip(strokes, masks, strict=True)]
        eps *= 1.5
    # More strokes than max_points / 2: keep the first max_points points, in drawing order.
    simplified = [s[imp > eps / 1.5] for s, imp in zip(strokes, importance, strict=True)]
    kept: Sketch = []
    budget = max_points
    for s in simplified:
        if budget <= 0:
            break
        kept.append(s[:budget])
        budget -= len(kept[-1])
    return kept


def sketch_to_points(strokes: Sketch, cfg: PreprocessConfig = PreprocessConfig()) -> np.ndarray:
    """Strokes (any coordinate frame, at least one point) -> (T, 7) float32 features, T <= max_points.

    One pass over the concatenated points (`flat_to_points`): normalise (as `normalise` does), fit the length
    (`fit_length`, only for a sketch of more than max_points points), features. The values go through the
    same float64 operations as doing it stroke by stroke and are rounded to float32 once, so the result is
    bit-identical to that (tests/sketchprep/test_preprocess_reference.py keeps the stroke-by-stroke reference).
    """
    return flat_to_points(flat_from_strokes(strokes), cfg)


def flat_to_points(sketch: FlatSketch, cfg: PreprocessConfig = PreprocessConfig()) -> np.ndarray:
    """A sketch as one array (any coordinate frame, at least one point) -> (T, 7) float32 features: the one
    implementation of the steps above, which `sketch_to_points` calls too."""
    lengths = [n for n in sketch.lengths if n > 0]  # strokes without points change nothing
    xy = sketch.xy  # (N, 2)
    if not lengths:
        raise ValueError("a sketch needs at least one point")
    lo = np.minimum.reduce(xy, axis=0)  # (2,)
    extent = float((np.maximum.reduce(xy, axis=0) - lo).max())
    xy = (xy - lo) / (extent if extent > 0.0 else 1.0)  # (N, 2) in [0, 1], a new array
    t = len(xy)
    if t > cfg.max_points:  # rare: re-simplify stroke by stroke
        strokes = fit_length(np.split(xy, np.cumsum(lengths[:-1])), cfg.max_points, cfg.rdp_start)
        xy = np.concatenate(strokes, axis=0)  # (T, 2)
        lengths = [len(s) for s in strokes]
        t = len(xy)
    feats = np.zeros((t, FEATURE_DIM), dtype=np.float32)  # float64 results are cast once on writing
    np.multiply(2.0, xy - 0.5, out=feats[:, 0:2])
    np.multiply(cfg.offset_scale, xy[1:] - xy[:-1], out=feats[1:, 2:4])  # offsets; 0 for the first point
    feats[:, 4] = 1.0  # pen down ...
    if len(lengths) > 1:  # ... except at stroke ends: pen up
        feats[[end - 1 for end in accumulate(lengths)], 4:6] = (0.0, 1.0)
    feats[t - 1, 4:7] = (0.0, 0.0, 1.0)  # end of sketch
    return feats


BATCHED_FROM = 3  # sketches from which preprocessing them together is cheaper (1: 20 us against 11 one by one)


def flats_to_points(sketches: Sequence[FlatSketch], cfg: PreprocessConfig = PreprocessConfig()) -> list[np.ndarray]:
    """Many sketches -> the same (T_i, 7) float32 arrays as `flat_to_points` on each, bit for bit. The usual
    sketches (float64, 1..max_points points), when there are at least BATCHED_FROM of them, go through a handful
    of numpy calls together instead of a dozen each; the rest (longer ones, to re-simplify; empty ones, to
    refuse) go one by one through `flat_to_points`. The results are views into one array."""
    out: list[np.ndarray | None] = [None] * len(sketches)
    idx = [i for i, s in enumerate(sketches)
           if 0 < len(s.xy) <= cfg.max_points and s.xy.dtype == np.float64 and s.xy.ndim == 2]
    if len(idx) >= BATCHED_FROM:
        counts = np.array([len(sketches[i].xy) for i in idx])  # (S,)
        ends = np.cumsum(counts)  # (S,) one past each sketch's last point
        starts = ends - counts
        xy = np.concatenate([sketches[i].xy for i in idx], axis=0)  # (N, 2)
        lo = np.minimum.reduceat(xy, starts, axis=0)  # (S, 2)
        extent = (np.maximum.reduceat(xy, starts, axis=0) - lo).max(axis=1)  # (S,)
        extent[extent <= 0.0] = 1.0  # a zero-extent sketch maps to the origin
        unit = (xy - np.repeat(lo, counts, axis=0)) / np.repeat(extent, counts)[:, None]  # (N, 2) in [0, 1]
        feats = np.zeros((len(xy), FEATURE_DIM), dtype=np.float32)  # (N, 7)
        np.multiply(2.0, unit - 0.5, out=feats[:, 0:2])
        np.multiply(cfg.offset_scale, unit[1:] - unit[:-1], out=feats[1:, 2:4])
        feats[starts, 2:4] = 0.0  # no offset for a sketch's first point
        feats[:, 4] = 1.0  # pen down ...
        stroke_ends = np.cumsum([n for i in idx for n in sketches[i].lengths if n > 0]) - 1
        feats[stroke_ends, 4:6] = (0.0, 1.0)  # ... except at stroke ends: pen up
        feats[ends - 1, 4:7] = (0.0, 0.0, 1.0)  # end of sketch
        for i, a, b in zip(idx, starts.tolist(), ends.tolist(), strict=True):
            out[i] = feats[a:b]  # (T_i, 7)
    for i, s in enumerate(sketches):
        if out[i] is None:
            out[i] = flat_to_points(s, cfg)
    return out  # type: ignore[return-value]


def collate(points: Sequence[np.ndarray], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """List of (T_i, 7) -> zero-padded (B, T, 7) float32 and lengths (B,) int64; T = max T_i or `length`."""
    lengths = np.array([len(p) for p in points], dtype=np.int64)
    t = int(lengths.max()) if length is None else length
    if t < lengths.max():
        raise ValueError(f"pad length {t} is shorter than the longest sketch ({lengths.max()})")
    batch = np.zeros((len(points), t, FEATURE_DIM), dtype=np.float32)
    for i, p in enumerate(points):
        batch[i, : len(p)] = p
    return batch, lengths
