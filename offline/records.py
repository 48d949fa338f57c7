"""One drawing as the offline readers yield it, and the checks that make a record usable or bad."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sketchprep.strokes import FlatSketch, Sketch, flat_from_strokes


@dataclass(frozen=True, slots=True)
class Drawing:
    key_id: str  # the record's key_id, else "FILE:LINE"
    file: str  # the input file as named on the command line (after expanding folders and globs)
    line: int  # 1-based line (NDJSON), row (Parquet) or record number (.npz, .bin)
    category: str | None  # canonical claimed category, None when the record has none
    sketch: FlatSketch  # absolute points (N, 2) float64 and the points of each stroke (none empty)

    @property
    def strokes(self) -> Sketch:
        """The strokes with points, each (N_i, 2): views into the one array."""
        return [s for s in self.sketch.strokes() if len(s)]


@dataclass(frozen=True, slots=True)
class BadRecord:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


class BadRecordError(ValueError):
    """A malformed record and no --skip-bad: the message names the file, the line and what is wrong."""

    def __init__(self, bad: BadRecord) -> None:
        super().__init__(f"malformed record at {bad} (pass --skip-bad to skip such records and count them)")
        self.bad = bad

    def __reduce__(self) -> tuple[type, tuple[BadRecord]]:  # crosses process boundaries (--workers)
        return (BadRecordError, (self.bad,))


def sketch_problem(strokes: Sketch, flat: FlatSketch | None = None) -> tuple[FlatSketch | None, str | None]:
    """Strokes (and the same points as one array, when the reader has it) -> (the sketch as one array, None)
    when it can be scored, else (None, why not): no point, a stroke that is not x and y rows, or a non-finite
    coordinate (one check over the one array, the usual case)."""
    if flat is None:
        for i, s in enumerate(strokes):
            if s.ndim != 2 or s.shape[1] != 2:
                return None, f"stroke {i} is not a list of x and y rows of equal length"
        flat = flat_from_strokes(strokes)
    if not len(flat.xy):
        return None, "the drawing has no point (empty strokes)"
    finite = np.isfinite(flat.xy).all(axis=1)  # (N,)
    if finite.all():
        return flat, None
    row = int(np.argmin(finite))  # the first point with a non-finite coordinate
    stroke = int(np.searchsorted(np.cumsum(flat.lengths), row, side="right"))
    bad = next(v for v in flat.xy[row].tolist() if not np.isfinite(v))
    return None, f"stroke {stroke} has a non-finite coordinate ({bad})"
