"""Outlier exposure (issue 12): drawings of the categories a scorer is NOT trained on, as a source of inputs whose
q must stay low. They carry no quality label: being a drawing of another category is all that is used, the
same weak signal as the training classes themselves (Hendrycks et al., "Deep Anomaly Detection with Outlier
Exposure", ICLR 2019). Only their training split is read (the split of a drawing is its hash), so validation
and test drawings of every category stay unseen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from sketchprep.formats import canonical_category, read_records
from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from sketchprep.split import split_of


class OutlierPool:
    """The preprocessed training-split drawings of every category outside `classes`, drawn from at random."""

    def __init__(self, points: Sequence[np.ndarray], categories: Sequence[str]):
        if not points:
            raise ValueError("no outlier drawings: the data holds no category besides the training classes")
        self.points = list(points)  # (T_i, 7) each
        self.categories = sorted(set(categories))
        lengths = np.array([len(p) for p in self.points])
        self._by_length = np.argsort(lengths, kind="stable")  # (N,) shortest first
        self._sorted_lengths = lengths[self._by_length]  # (N,)

    @classmethod
    def load(cls, paths: Iterable[Path | str], classes: Sequence[str], pre: PreprocessConfig) -> OutlierPool:
        trained = {canonical_category(c) for c in classes}
        points, cats = [], []
        for r in read_records(paths):
            if r.category in trained or split_of(r.strokes) != "train" or sum(len(s) for s in r.strokes) == 0:
                continue
            points.append(sketch_to_points(r.strokes, pre))
            cats.append(r.category)
        return cls(points, cats)

    def __len__(self) -> int:
        return len(self.points)

    def sample(self, n: int, rng: np.random.Generator, max_length: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """n drawings at random (without replacement within the call) -> (n, T, 7) padded, (n,) lengths.
        `max_length`: only among the drawings of at most that many points (the n shortest when fewer are), so
        the outliers do not pad a length-sorted training batch beyond its own length."""
        n = min(n, len(self.points))
        if max_length is None:
            idx = rng.choice(len(self.points), size=n, replace=False)
        else:
            eligible = max(n, int(np.searchsorted(self._sorted_lengths, max_length, side="right")))
            idx = self._by_length[rng.choice(eligible, size=n, replace=False)]
        x, lengths = collate([self.points[i] for i in idx])
        return torch.from_numpy(x), torch.from_numpy(lengths)
