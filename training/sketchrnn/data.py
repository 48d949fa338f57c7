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

The split and the sets are the scorer's (`training.data.splits.split_sets`, a hash of the drawing), so the
VAE's held-out sketches are the scorer's held-out sketches; batches are cut like the scorer's
(`training.data.batches.bucketed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from sketchprep.stroke5 import pad_batch, strokes_to_stroke5
from sketchprep.strokes import Sketch
from training.data.batches import bucketed
from training.data.splits import SketchSet, read_classes, split_sets


def stroke5_rows(max_seq_len: int):
    """The converter of `split_sets`: a sketch -> its (L, 5) rows, or why it is left out."""
    def convert(strokes: Sketch) -> np.ndarray | str:
        rows = strokes_to_stroke5(strokes)
        if len(rows) == 0:
            return "empty"
        return "too_long" if len(rows) > max_seq_len else rows
    return convert


def load_stroke5_splits(paths: Iterable[Path | str], categories: list[str] | None, max_seq_len: int,
                        keep_records: bool = False, max_per_class: int | None = None,
                        ) -> tuple[list[str], dict[str, SketchSet], dict]:
    """Read, split by the scorer's hash, convert to stroke-5; -> (classes, {split: set of rows}, counts)."""
    classes, records = read_classes(paths, categories, max_per_class)
    sets, left_out = split_sets(records, classes, stroke5_rows(max_seq_len), keep_records)
    counts = {"read": len(records), "too_long": left_out["too_long"], "empty": left_out["empty"]}
    counts.update({s: len(v) for s, v in sets.items()})
    return classes, sets, counts


def offset_std(data: SketchSet) -> float:
    """Sketch-RNN's normalising scale: the standard deviation of every dx and dy of the training set."""
    return float(np.concatenate([s[:, 0:2] for s in data.items]).std())


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
    batches = bucketed(order, lengths, batch_size, bucket_batches)
    np.random.default_rng([seed, epoch, 2]).shuffle(batches)
    return batches


def training_batches(data: SketchSet, batch_size: int, max_seq_len: int, pad_to: str, bucket_batches: int,
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
        seqs = [data.items[i] for i in idx]
        if scale_aug > 0:
            seqs = random_scale(seqs, scale_aug, np.random.default_rng([seed, step, 1]))
        t = max_seq_len + 1 if pad_to == "max_seq_len" else int(lengths[idx].max()) + 1
        x, lens = pad_batch(seqs, t)
        yield step, torch.from_numpy(x), torch.from_numpy(lens), torch.from_numpy(labels[idx])
        step += 1


def eval_batches(data: SketchSet, batch_size: int, t_max: int,
                 limit: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(x (B, t_max, 5), lengths (B,), labels (B,)) over the first `limit` sketches, in order."""
    n = len(data) if limit is None else min(limit, len(data))
    labels = np.asarray(data.labels, dtype=np.int64)
    for i in range(0, n, batch_size):
        x, lens = pad_batch(data.items[i : min(i + batch_size, n)], t_max)
        yield torch.from_numpy(x), torch.from_numpy(lens), torch.from_numpy(labels[i : min(i + batch_size, n)])
