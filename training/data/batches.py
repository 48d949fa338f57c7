"""Batches of a SketchSet cut from length-sorted groups, so a padded batch holds sketches of similar length.

The scorer's loop (`iterate_batches`) and the Sketch-RNN's (training.sketchrnn.data) share the cutting;
each draws its own order. Padding invariance of the encoders makes bucketing exact for the scorer.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from sketchprep.preprocess import collate
from training.data.splits import SketchSet


def bucketed(order: np.ndarray, lengths: np.ndarray, batch_size: int, bucket_batches: int) -> list[np.ndarray]:
    """`order` cut into groups of bucket_batches batches, each group sorted by length (stable), then cut
    into batches of batch_size (the last one of a group may be smaller)."""
    batches = []
    group = batch_size * bucket_batches
    for g in range(0, len(order), group):
        chunk = order[g : g + group]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return batches


def iterate_batches(data: SketchSet, batch_size: int, shuffle: bool, rng: np.random.Generator | None = None,
                    bucket_batches: int = 50) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]]:
    """Yield (points (B, T, 7), lengths (B,), labels (B,), indices (B,)) of the scorer's point sets.

    Shuffled batches are bucketed (groups of `bucket_batches` batches sorted by length before cutting, then
    the batches shuffled); unshuffled ones keep the set's order.
    """
    n = len(data)
    if shuffle:
        order = rng.permutation(n) if rng is not None else np.arange(n)
        batches = bucketed(order, data.lengths, batch_size, bucket_batches)
        rng.shuffle(batches)
    else:
        batches = [np.arange(n)[i : i + batch_size] for i in range(0, n, batch_size)]
    labels = np.asarray(data.labels, dtype=np.int64)
    for idx in batches:
        pts, lens = collate([data.items[i] for i in idx])
        yield torch.from_numpy(pts), torch.from_numpy(lens), torch.from_numpy(labels[idx]), idx
