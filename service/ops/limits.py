"""The input limits: validated request sketches -> strokes and the model's input, within the settings' limits.

Conversions and preprocessing are sketchprep's (the single implementation shared with training); this
module only checks the limits that depend on settings and reports violations with their location.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.api.schemas.score_fast import ScoreBody, SketchBody
from service.core.errors import LimitExceededError
from service.core.settings import Settings
from sketchprep.native import drawing_features
from sketchprep.preprocess import PreprocessConfig, flat_to_points, flats_to_points
from sketchprep.strokes import (
    FlatSketch,
    Sketch,
    flat_from_drawing,
    flat_from_points,
    flats_from_drawings,
    stroke3_to_strokes,
)


@dataclass(frozen=True)
class Limits:
    max_sketches: int
    max_strokes: int
    max_input_points: int
    max_request_points: int
    max_abs_coordinate: float

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(s.max_sketches, s.max_strokes, s.max_input_points, s.max_request_points, s.max_abs_coordinate)


def input_points(sketch: SketchBody) -> int:
    if sketch.strokes is not None:
        return sum(len(stroke[0]) for stroke in sketch.strokes)
    if sketch.points is not None:
        return sum(len(stroke) for stroke in sketch.points)
    return len(sketch.stroke3 or ())


def stroke_count(sketch: SketchBody) -> int:
    """Strokes of a validated sketch as sent (stroke3: pen lifts, and an unfinished last stroke)."""
    if sketch.strokes is not None:
        return len(sketch.strokes)
    if sketch.points is not None:
        return len(sketch.points)
    rows = sketch.stroke3 or []
    return int(sum(row[2] for row in rows)) + (1 if rows and rows[-1][2] == 0 else 0)


def check_request(req: ScoreBody, limits: Limits) -> int:
    """Request-wide limits; returns the number of points sent."""
    n = len(req.sketches)
    if n > limits.max_sketches:
        raise LimitExceededError.at(["body", "sketches"], f"{n} sketches; at most {limits.max_sketches} are "
                                                           "accepted per request", "too_many_sketches")
    total = sum(input_points(s) for s in req.sketches)
    if total > limits.max_request_points:
        raise LimitExceededError.at(["body", "sketches"], f"{total} points in all; at most "
                                    f"{limits.max_request_points} are accepted per request", "too_many_points")
    return total


def to_flat(sketch: SketchBody, loc: list[str | int], limits: Limits) -> FlatSketch:
    """A validated sketch (at `loc` in the request, for error messages) -> one (N, 2) float64 array of its
    points and the points per stroke, within the limits (the hot path: one array per sketch)."""
    if sketch.strokes is not None or sketch.points is not None:
        field = "strokes" if sketch.strokes is not None else "points"
        n_strokes = len(sketch.strokes if sketch.strokes is not None else sketch.points)
        if n_strokes > limits.max_strokes:
            raise LimitExceededError.at([*loc, field], f"{n_strokes} strokes; at most {limits.max_strokes} "
                                                       "are accepted", "too_many_strokes")
        # (the lists are parsed already: building the array costs what counting its points would)
        flat = flat_from_drawing(sketch.strokes) if sketch.strokes is not None else flat_from_points(sketch.points)
        _check_points(len(flat.xy), [*loc, field], limits)
        _check_magnitude(flat.xy, [*loc, field], limits)  # (N, 2)
        times = [stroke[2] for stroke in sketch.strokes or () if len(stroke) == 3]
        if times:  # ignored, but held to the same bound as the contract says
            _check_magnitude(np.concatenate([np.asarray(t, dtype=np.float64) for t in times]), [*loc, field], limits)
        return flat
    assert sketch.stroke3 is not None
    _check_points(len(sketch.stroke3), [*loc, "stroke3"], limits)
    rows = np.asarray(sketch.stroke3, dtype=np.float64)  # (N, 3) dx, dy, pen
    _check_magnitude(rows[:, :2], [*loc, "stroke3"], limits)
    strokes = stroke3_to_strokes(rows)
    if len(strokes) > limits.max_strokes:
        raise LimitExceededError.at([*loc, "stroke3"], f"{len(strokes)} strokes; at most {limits.max_strokes} are "
                                                       "accepted", "too_many_strokes")
    return FlatSketch(np.concatenate(strokes, axis=0), [len(s) for s in strokes])


def to_strokes(sketch: SketchBody, loc: list[str | int], limits: Limits) -> Sketch:
    """A validated sketch -> strokes, each (N_i, 2) float64 (for the operations that work stroke by stroke)."""
    return to_flat(sketch, loc, limits).strokes()


def _check_points(n: int, loc: list[str | int], limits: Limits) -> None:
    if n > limits.max_input_points:
        raise LimitExceededError.at(loc, f"{n} points; at most {limits.max_input_points} are accepted per sketch",
                                    "too_many_points")


def _check_magnitude(xy: np.ndarray, loc: list[str | int], limits: Limits) -> None:
    biggest = float(np.abs(xy).max())
    if biggest > limits.max_abs_coordinate:
        raise LimitExceededError.at(loc, f"a coordinate of magnitude {biggest:.6g} exceeds the limit of "
                                         f"{limits.max_abs_coordinate:.6g}", "coordinate_too_large")


def _two_rows(sketch: SketchBody) -> bool:
    return sketch.strokes is not None and all(len(stroke) == 2 for stroke in sketch.strokes)


def to_flats(sketches: Sequence[SketchBody], first: int, limits: Limits) -> list[FlatSketch]:
    """Validated sketches (the request's from index `first` on) -> one FlatSketch each, within the limits:
    `to_flat` on each, with the usual sketches (`strokes`, two rows a stroke) converted and range-checked
    together (`flats_from_drawings`, one magnitude check). Where a limit is exceeded they are gone through one
    by one, so the error names the first sketch at fault, as it would without the grouping."""
    group = [i for i, sketch in enumerate(sketches) if _two_rows(sketch)]
    out: list[FlatSketch | None] = [None] * len(sketches)
    if len(group) > 1:  # (the lists are parsed already: converting costs what counting the points would)
        xy, flats = flats_from_drawings([sketches[i].strokes for i in group])  # type: ignore[misc]
        if (all(len(f.lengths) <= limits.max_strokes and len(f.xy) <= limits.max_input_points for f in flats)
                and float(np.abs(xy).max()) <= limits.max_abs_coordinate):
            for i, flat in zip(group, flats, strict=True):
                out[i] = flat
    return [flat if flat is not None else to_flat(sketch, ["body", "sketches", i], limits)
            for i, (sketch, flat) in enumerate(zip(sketches, out, strict=True), first)]


def to_points(sketches: Sequence[SketchBody], first: int, limits: Limits, cfg: PreprocessConfig) -> list[np.ndarray]:
    """Validated sketches (the request's from index `first` on, for error messages) -> (T_i, 7) float32 model
    inputs, 1 <= T_i <= cfg.max_points: by the compiled kernel where every sketch is plain and within the limits
    (`native_points`), else converted (`to_flats`) and preprocessed together (`flats_to_points`). The same bits
    either way; a limit exceeded is always reported by the second, which names the first sketch at fault."""
    points = native_points(sketches, limits, cfg)
    return points if points is not None else flats_to_points(to_flats(sketches, first, limits), cfg)


def native_points(sketches: Sequence[SketchBody], limits: Limits, cfg: PreprocessConfig) -> list[np.ndarray] | None:
    """The sketches' model inputs from `sketchprep.native` (one compiled pass a sketch over the parsed lists), or
    None where any sketch is not the plain Quick, Draw! shape or exceeds a limit (or the kernel is not built).
    A sketch longer than max_points is re-simplified by the numpy path."""
    out: list[np.ndarray] = []
    for sketch in sketches:
        if sketch.strokes is None or (f := drawing_features(sketch.strokes, cfg)) is None:
            return None
        if (f.n_strokes > limits.max_strokes or f.n_points > limits.max_input_points
                or f.max_abs > limits.max_abs_coordinate):
            return None
        out.append(f.points if f.points is not None else flat_to_points(flat_from_drawing(sketch.strokes), cfg))
    return out
