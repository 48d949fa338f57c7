"""The train / validation / test split of a drawing: a hash of its content, so it is the same whatever files
or order the data comes in, and duplicates of a drawing always land in the same split. Training
(training.data.splits) and the web page's examples (service.web.examples) both split with this."""

from __future__ import annotations

import hashlib

import numpy as np

from sketchprep.strokes import Sketch

SPLITS = ("train", "val", "test")


def drawing_hash(strokes: Sketch) -> int:
    """64 bits of the sha256 of the drawing's points rounded to int32, stroke by stroke."""
    h = hashlib.sha256()
    for s in strokes:
        h.update(np.round(np.asarray(s)).astype(np.int32).tobytes())
        h.update(b"|")
    return int.from_bytes(h.digest()[:8], "big")


def split_of(strokes: Sketch, fractions: tuple[float, float] = (0.8, 0.1)) -> str:
    """"train", "val" or "test" (80/10/10 by default)."""
    u = (drawing_hash(strokes) % 10_000) / 10_000
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"
