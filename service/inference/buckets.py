"""Length buckets: the padded lengths a batch may have, and which one a sketch goes to. Shared by the batcher
(POST /score) and the offline scorer (`sketchq score`), so a sketch is always computed at the same padded shape
and gets bit-identical outputs either way (with ORT intra_op_threads=1)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def bucket_index(length: int, buckets: Sequence[int]) -> int:
    """Index of the smallest bucket >= length (ascending buckets; the last one is max_points)."""
    i = bisect.bisect_left(buckets, length)
    if i == len(buckets):
        raise ValueError(f"sketch of {length} points is longer than the largest bucket")
    return i
