"""Sketch records -> Sketch-RNN stroke-5 sequences, split like the scorer, and padded training batches.

Stroke-5 (Ha and Eck 2018). A sketch of N points p_0 .. p_{N-1} (all strokes in drawing order) becomes N-1
rows; row i-1 describes point p_i:

    (dx, dy, p1, p2, p3) = (p_i - p_{i-1}, pen stays down after p_i, pen lifts after p_i, end of sketch)

Offsets are in the Quick, Draw! simplified frame (pixels 0..255, already RDP-simplified, so no further
simplification here). p_0 is the origin: the decoder's start token S0 = (0, 0, 1, 0, 0) stands for it, so a
leading one-point stroke (a dot before the first line) cannot be represented and is dropped. p3 is only set
on padding rows (0, 0, 0, 0, 1) after the last point, which the decoder learns to emit to stop.

Sketches with more than `max_seq_len` rows are dropped, not truncated (a truncated sketch would teach the
decoder to stop mid-drawing). The default 127 rows = 128 points = the scorer's `max_points`, so every
sketch the VAE reads or writes reaches the scorer without re-simplification.

The split is `training.data.split_of` (a hash of the drawing), so the VAE's held-out sketches are the
scorer's held-out sketches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sketchprep.formats import SketchRecord, read_records
from sketchprep.stroke5 import EOS_ROW, pad_batch, stroke5_length, stroke5_to_strokes, strokes_to_stroke5
from training.data import SPLITS, split_of

__all__ = ["EOS_ROW", "Stroke5Set", "pad_batch", "stroke5_length", "stroke5_to_strokes", "strokes_to_stroke5"]


@dataclass
class Stroke5Set:
    """One split: seqs[i] (L_i, 5) float32 rows in pixels, labels[i] a class index."""

    classes: list[str]
    seqs: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    records: list[SketchRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.seqs], dtype=np.int64)


def load_stroke5_splits(paths: Iterable[Path | str], categories: list[str] | None, max_seq_len: int,
                        keep_records: bool = False) -> tuple[list[str], dict[str, Stroke5Set], dict]:
    """Read, split by the scorer's hash, convert to stroke-5; -> (classes, {split: set}, counts)."""
    records = [r for r in read_records(paths, categories) if sum(len(s) for s in r.strokes) > 0]
    classes = sorted({r.category for r in records}) if categories is None else list(categories)
    index = {c: i for i, c in enumerate(classes)}
    sets = {s: Stroke5Set(classes) for s in SPLITS}
    counts = {"read": len(records), "too_long": 0, "empty": 0}
    for r in records:
        rows = strokes_to_stroke5(r.strokes)
        if len(rows) == 0:
            counts["empty"] += 1
            continue
        if len(rows) > max_seq_len:
            counts["too_long"] += 1
            continue
        target = sets[split_of(r)]
        target.seqs.append(rows)
        target.labels.append(index[r.category])
        if keep_records:
            target.records.append(r)
    counts.update({s: len(v) for s, v in sets.items()})
    return classes, sets, counts


def offset_std(data: Stroke5Set) -> float:
    """Sketch-RNN's normalising scale: the standard deviation of every dx and dy of the training set."""
    return float(np.concatenate([s[:, 0:2] for s in data.seqs]).std())


def random_scale(seqs: list[np.ndarray], amount: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Sketch-RNN's augmentation: offsets of each sketch times (1 +- amount) per axis, uniform."""
    out = []
    for s in seqs:
        s = s.copy()
        s[:, 0:2] *= 1.0 + rng.uniform(-amount, amount, size=2).astype(np.float32)
        out.append(s)
    return out


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int, bucket_batches: int) -> list[np.ndarray]:
    """The index batches of one epoch (last partial batch dropped): a pure function of (seed, epoch), so a
    resumed run sees the same. With bucket_batches > 1, each group of that many batches is sorted by length
    before cutting (less padding when batches are padded to their own longest sketch)."""
    n_used = (len(lengths) // batch_size) * batch_size
    order = np.random.default_rng([seed, epoch]).permutation(len(lengths))[:n_used]
    if bucket_batches <= 1:
        return [order[i : i + batch_size] for i in range(0, n_used, batch_size)]
    batches = []
    group = batch_size * bucket_batches
    for g in range(0, n_used, group):
        chunk = order[g : g + group]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    np.random.default_rng([seed, epoch, 2]).shuffle(batches)
    return batches


def training_batches(data: Stroke5Set, batch_size: int, max_seq_len: int, pad_to: str, bucket_batches: int,
                     scale_aug: float, seed: int, start_step: int,
                     ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Endless (step, x (B, T, 5), lengths (B,), labels (B,)) from `start_step` on.

    pad_to "max_seq_len": T = max_seq_len + 1 (Sketch-RNN: the pen loss sees every end row up to N_max);
    pad_to "batch": T = the batch's longest sketch + 1 (every sketch still gets its end row; only the
    end-after-end rows are left out). Order and augmentation are functions of (seed, step): exact resume.
    """
    if pad_to not in ("max_seq_len", "batch"):
        raise ValueError(f"pad_to must be 'max_seq_len' or 'batch', not {pad_to!r}")
    per_epoch = len(data) // batch_size
    if per_epoch == 0:
        raise ValueError(f"{len(data)} training sketches: fewer than one batch of {batch_size}")
    labels = np.asarray(data.labels, dtype=np.int64)
    lengths = data.lengths
    step, cached = start_step, (-1, [])
    while True:
        epoch, k = divmod(step, per_epoch)
        if cached[0] != epoch:
            cached = (epoch, epoch_batches(lengths, batch_size, seed, epoch, bucket_batches))
        idx = cached[1][k]
        seqs = [data.seqs[i] for i in idx]
        if scale_aug > 0:
            seqs = random_scale(seqs, scale_aug, np.random.default_rng([seed, step, 1]))
        t = max_seq_len + 1 if pad_to == "max_seq_len" else int(lengths[idx].max()) + 1
        x, lens = pad_batch(seqs, t)
        yield step, torch.from_numpy(x), torch.from_numpy(lens), torch.from_numpy(labels[idx])
        step += 1


def eval_batches(data: Stroke5Set, batch_size: int, t_max: int,
                 limit: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(x (B, t_max, 5), lengths (B,), labels (B,)) over the first `limit` sketches, in order."""
    n = len(data) if limit is None else min(limit, len(data))
    labels = np.asarray(data.labels, dtype=np.int64)
    for i in range(0, n, batch_size):
        x, lens = pad_batch(data.seqs[i : min(i + batch_size, n)], t_max)
        yield torch.from_numpy(x), torch.from_numpy(lens), torch.from_numpy(labels[i : min(i + batch_size, n)])
