"""Cache keys and values. Key = "sketchq:<op>:" + sha256 over (model sha256, op, canonical JSON of the options,
the preprocessed (T, 7) float32 points): the preprocessed points are the canonical sketch, so the same drawing
sent as strokes or as stroke-3, moved or scaled, gives the same key. The value is a sketch's raw model output
(everything the API returns is derived from it, so one entry serves all options).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from service.inference.outputs import RawScore


def cache_key(model_sha256: str, op: str, options: dict[str, Any], points: np.ndarray) -> str:
    """points: (T, 7) float32, the preprocessed sketch."""
    h = hashlib.sha256()
    h.update(f"sketchq-cache-v1|{model_sha256}|{op}|{json.dumps(options, sort_keys=True)}|".encode())
    h.update(f"{points.shape}|{points.dtype.str}|".encode())
    h.update(np.ascontiguousarray(points).tobytes())
    return f"sketchq:{op}:{h.hexdigest()}"


def encode(raw: RawScore) -> bytes:
    """q float32, pred int64, then cos (C,) float32 (little endian)."""
    return (np.asarray(raw.q, "<f4").tobytes() + np.asarray(raw.pred, "<i8").tobytes()
            + np.asarray(raw.cos, "<f4").tobytes())


def decode(blob: bytes, n_classes: int) -> RawScore | None:
    if len(blob) != 12 + 4 * n_classes:
        return None  # written by another model layout: treat as a miss
    q = float(np.frombuffer(blob, "<f4", 1, 0)[0])
    pred = int(np.frombuffer(blob, "<i8", 1, 4)[0])
    cos = np.frombuffer(blob, "<f4", n_classes, 12).astype(np.float32)
    return RawScore(q, cos, pred)
