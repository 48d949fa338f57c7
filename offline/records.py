"""One drawing as the offline readers yield it, and the checks that make a record usable or bad."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sketchprep.strokes import Sketch


@dataclass(frozen=True, slots=True)
class Drawing:
    key_id: str  # the record's key_id, else "FILE:LINE"
    file: str  # the input file as named on the command line (after expanding folders and globs)
    line: int  # 1-based line (NDJSON), row (Parquet) or record number (.npz, .bin)
    category: str | None  # canonical claimed category, None when the record has none
    strokes: Sketch  # absolute strokes, each (N_i, 2) float64


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


def stroke_problem(strokes: Sketch) -> str | None:
    """Why these strokes cannot be scored (None when they can): no point, or a non-finite coordinate."""
    if not strokes or all(len(s) == 0 for s in strokes):
        return "the drawing has no point (empty strokes)"
    for i, s in enumerate(strokes):
        if s.ndim != 2 or s.shape[1] != 2:
            return f"stroke {i} is not a list of x and y rows of equal length"
    if np.isfinite(np.concatenate(strokes) if len(strokes) > 1 else strokes[0]).all():  # one check: the usual case
        return None
    for i, s in enumerate(strokes):  # which stroke, for the message
        if not np.isfinite(s).all():
            bad = next(v for v in s.ravel().tolist() if not math.isfinite(v))
            return f"stroke {i} has a non-finite coordinate ({bad})"
    return None
