"""Data for training and evaluation: read records, split deterministically, preprocess once, batch.

The split is a hash of the drawing's content (not of its position in a file), so it is the same whatever
files or order the data comes in, and duplicates of a drawing always land in the same split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sketchprep.formats import SketchRecord, read_records
from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points

SPLITS = ("train", "val", "test")


def drawing_hash(record: SketchRecord) -> int:
    h = hashlib.sha256()
    for s in record.strokes:
        h.update(np.round(np.asarray(s)).astype(np.int32).tobytes())
        h.update(b"|")
    return int.from_bytes(h.digest()[:8], "big")


def split_of(record: SketchRecord, fractions: tuple[float, float] = (0.8, 0.1)) -> str:
    u = (drawing_hash(record) % 10_000) / 10_000
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


@dataclass
class SketchSet:
    """Preprocessed sketches of one split: points[i] is (T_i, 7) float32, labels[i] a class index."""

    classes: list[str]
    points: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    recognized: list[bool | None] = field(default_factory=list)
    records: list[SketchRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(p) for p in self.points])


def load_splits(paths: Iterable[Path | str], categories: list[str] | None, pre: PreprocessConfig,
                keep_records: bool = False) -> tuple[list[str], dict[str, SketchSet]]:
    """Read, split by hash and preprocess. Records with no points are dropped (nothing to score)."""
    records = [r for r in read_records(paths, categories) if sum(len(s) for s in r.strokes) > 0]
    classes = sorted({r.category for r in records}) if categories is None else list(categories)
    index = {c: i for i, c in enumerate(classes)}
    sets = {s: SketchSet(classes) for s in SPLITS}
    for r in records:
        target = sets[split_of(r)]
        target.points.append(sketch_to_points(r.strokes, pre))
        target.labels.append(index[r.category])
        target.recognized.append(r.recognized)
        if keep_records:
            target.records.append(r)
    return classes, sets


def iterate_batches(data: SketchSet, batch_size: int, shuffle: bool, rng: np.random.Generator | None = None,
                    bucket_batches: int = 50) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]]:
    """Yield (points (B, T, 7), lengths (B,), labels (B,), indices (B,)).

    Shuffled training batches are bucketed: groups of `bucket_batches` batches are sorted by length
    before cutting, which cuts padding; padding invariance of the encoders makes this exact.
    """
    n = len(data)
    order = rng.permutation(n) if shuffle and rng is not None else np.arange(n)
    batches = []
    if shuffle:
        lengths = data.lengths
        group = batch_size * bucket_batches
        for g in range(0, n, group):
            chunk = order[g : g + group]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
        rng.shuffle(batches)
    else:
        batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    labels = np.asarray(data.labels, dtype=np.int64)
    for idx in batches:
        pts, lens = collate([data.points[i] for i in idx])
        yield torch.from_numpy(pts), torch.from_numpy(lens), torch.from_numpy(labels[idx]), idx
