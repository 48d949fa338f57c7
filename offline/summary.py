"""What report.html shows, gathered while streaming (constant memory) and merged over shards: counts per
verdict, per-category q histograms on fixed bins, a seeded sample of (q, theta) points, and the most suspect
(largest angle to the claimed class) and the lowest-q drawings with their strokes."""

from __future__ import annotations

import heapq
import random
import zlib
from dataclasses import dataclass, field
from typing import Any

from offline.records import Drawing
from offline.scoring import Row

Q_BIN = 2.5  # width of a histogram bin of q
Q_BINS = 64  # bins from 0 to 160; q outside goes to the end bins
SCATTER_MAX = 4000  # (q, theta) points kept per shard and in the merged report
EXAMPLES = 24  # drawings kept for each gallery


def _strokes_json(d: Drawing) -> list[list[list[float]]]:
    return [[[round(float(v), 1) for v in s[:, 0]], [round(float(v), 1) for v in s[:, 1]]] for s in d.strokes]


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=lambda: {"kept": 0, "suspect": 0, "rejected": 0})
    hist: dict[str, list[int]] = field(default_factory=dict)  # category -> Q_BINS counts
    scatter: list[list[Any]] = field(default_factory=list)  # [q, theta, verdict]
    seen: int = 0  # rows with a theta (reservoir sampling)
    suspects: list[list[Any]] = field(default_factory=list)  # heap of [theta, q, row fields..., strokes]
    lowest: list[list[Any]] = field(default_factory=list)  # heap of [-q, ...]
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # the reservoir's draws (not saved: a shard is summarised in one go)

    def add(self, d: Drawing, row: Row) -> None:
        self.counts[row["verdict"]] += 1
        q = row["quality"]
        cat = row["category"] or row["predicted_class"]
        bins = self.hist.setdefault(cat, [0] * Q_BINS)
        bins[min(Q_BINS - 1, max(0, int(q // Q_BIN)))] += 1
        if row["theta"] is not None:
            self.seen += 1
            point = [q, row["theta"], row["verdict"]]
            if len(self.scatter) < SCATTER_MAX:
                self.scatter.append(point)
            else:
                j = self._rng.randrange(self.seen)
                if j < SCATTER_MAX:
                    self.scatter[j] = point
        info = [row["key_id"], row["category"] or "", row["predicted_class"], row["confidence"]]  # no None in heaps
        if row["verdict"] == "suspect":
            _push(self.suspects, [row["theta"], q, *info], d)
        _push(self.lowest, [-q, -1.0 if row["theta"] is None else row["theta"], *info], d)

    def merge(self, other: Summary) -> None:
        for k, v in other.counts.items():
            self.counts[k] += v
        for cat, bins in other.hist.items():
            mine = self.hist.setdefault(cat, [0] * Q_BINS)
            self.hist[cat] = [a + b for a, b in zip(mine, bins, strict=True)]
        self.scatter.extend(other.scatter)
        if len(self.scatter) > SCATTER_MAX:
            self.scatter = random.Random(len(self.scatter)).sample(self.scatter, SCATTER_MAX)
        self.seen += other.seen
        for item in other.suspects:
            _push_item(self.suspects, item)
        for item in other.lowest:
            _push_item(self.lowest, item)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("counts", "hist", "scatter", "seen", "suspects", "lowest", "seed")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(**data)

    @classmethod
    def for_shard(cls, name: str) -> Summary:
        return cls(seed=zlib.crc32(name.encode()))


def _push(heap: list[list[Any]], head: list[Any], d: Drawing) -> None:
    if len(heap) < EXAMPLES or head[0] > heap[0][0]:
        _push_item(heap, [*head, _strokes_json(d)])


def _push_item(heap: list[list[Any]], item: list[Any]) -> None:
    if len(heap) < EXAMPLES:
        heapq.heappush(heap, item)
    elif item[0] > heap[0][0]:
        heapq.heapreplace(heap, item)
