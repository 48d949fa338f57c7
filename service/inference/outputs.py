"""The model's outputs: a batch's arrays as the engine returns them, and one sketch's share of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class EngineOutputs:
    q: np.ndarray  # (B,) float32 feature magnitude
    cos: np.ndarray  # (B, C) float32 cosine to each class centre
    pred: np.ndarray  # (B,) int64 predicted class index


class RawScore(NamedTuple):
    """One sketch's model outputs (what the cache stores)."""

    q: float
    cos: np.ndarray  # (C,) float32 cosine to each class centre
    pred: int
