"""Read records, split them deterministically (sketchprep.split), convert each sketch once, keep it per split.

The scorer
keeps each sketch as (T, 7) point features (`load_splits`), the Sketch-RNN as stroke-5 rows
(training.sketchrnn.data): both go through `split_sets`, so their held-out sketches are the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sketchprep.formats import SketchRecord, read_records
from sketchprep.preprocess import PreprocessConfig, sketch_to_points
from sketchprep.split import SPLITS, split_of
from sketchprep.strokes import Sketch


@dataclass
class SketchSet:
    """The converted sketches of one split: items[i] an array (the scorer's (T_i, 7) points or the VAE's
    (L_i, 5) stroke-5 rows), labels[i] a class index."""

    classes: list[str]
    items: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    recognized: list[bool | None] = field(default_factory=list)
    records: list[SketchRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(p) for p in self.items], dtype=np.int64)

    def head(self, n: int) -> SketchSet:
        """The first n sketches (records kept only if they were)."""
        return SketchSet(self.classes, self.items[:n], self.labels[:n], self.recognized[:n], self.records[:n])


# sketch -> converted item, or the reason it is left out (counted by split_sets)
Convert = Callable[[Sketch], "np.ndarray | str"]


def sample_per_class(records: Iterable[SketchRecord], max_per_class: int, seed: int = 0) -> list[SketchRecord]:
    """At most `max_per_class` training drawings of each category, a uniform sample drawn while streaming
    (reservoir sampling, seeded): memory grows with the sample, never with the data. Validation and test keep
    their share of it (max_per_class / 8 each at the 80/10/10 split), in the same way."""
    caps = {"train": max_per_class, "val": max(1, max_per_class // 8), "test": max(1, max_per_class // 8)}
    rng = np.random.default_rng(seed)
    kept: dict[tuple[str, str], list[SketchRecord]] = {}
    seen: Counter[tuple[str, str]] = Counter()
    for r in records:
        key = (split_of(r.strokes), r.category)
        seen[key] += 1
        box = kept.setdefault(key, [])
        if len(box) < caps[key[0]]:
            box.append(r)
        elif (j := int(rng.integers(seen[key]))) < caps[key[0]]:
            box[j] = r
    return [r for key in sorted(kept) for r in kept[key]]


def read_classes(paths: Iterable[Path | str], categories: Sequence[str] | None, max_per_class: int | None = None,
                 seed: int = 0) -> tuple[list[str], list[SketchRecord]]:
    """Records with at least one point (nothing to score otherwise) and the classes: `categories` in their
    order, or every category found, sorted. With `max_per_class`, the files are streamed and only a sample
    per category is kept (`sample_per_class`)."""
    stream = (r for r in read_records(paths, categories) if sum(len(s) for s in r.strokes) > 0)
    records = list(stream) if max_per_class is None else sample_per_class(stream, max_per_class, seed)
    classes = sorted({r.category for r in records}) if categories is None else list(categories)
    return classes, records


def split_sets(records: Iterable[SketchRecord], classes: list[str], convert: Convert,
               keep_records: bool = False) -> tuple[dict[str, SketchSet], Counter[str]]:
    """Each record converted and put in its split; -> ({split: set}, counts of the left-out reasons)."""
    index = {c: i for i, c in enumerate(classes)}
    sets = {s: SketchSet(classes) for s in SPLITS}
    left_out: Counter[str] = Counter()
    for r in records:
        item = convert(r.strokes)
        if isinstance(item, str):
            left_out[item] += 1
            continue
        target = sets[split_of(r.strokes)]
        target.items.append(item)
        target.labels.append(index[r.category])
        target.recognized.append(r.recognized)
        if keep_records:
            target.records.append(r)
    return sets, left_out


def load_splits(paths: Iterable[Path | str], categories: Sequence[str] | None, pre: PreprocessConfig,
                keep_records: bool = False, max_per_class: int | None = None, seed: int = 0,
                ) -> tuple[list[str], dict[str, SketchSet]]:
    """Read, split by hash and preprocess into the scorer's (T, 7) point features (optionally a per-category
    sample, streamed: `read_classes`)."""
    classes, records = read_classes(paths, categories, max_per_class, seed)
    sets, _ = split_sets(records, classes, lambda strokes: sketch_to_points(strokes, pre), keep_records)
    return classes, sets
