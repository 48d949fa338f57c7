"""Drawings -> result rows, with the service's own parts: sketchprep's preprocessing, the service's ONNX
Runtime engine (`service.inference.engine.Engine`, its provider choice included), its length buckets
(`Settings.buckets_for`, `bucket_index`) and its reading of the outputs (`LoadedModel.interpret`, whose label
check is `sketchprep.label_rule`). A sketch is padded to its bucket as POST /score pads it, so with ORT
intra_op_threads=1 (the default) its numbers are bit-identical to the service's answer for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from offline.records import Drawing
from service.core.settings import Settings
from service.inference.buckets import bucket_index
from service.inference.engine import Engine
from service.inference.loaded_model import LoadedModel
from service.inference.outputs import RawScore
from sketchprep.label_rule import verdict
from sketchprep.preprocess import collate, flats_to_points

Row = dict[str, Any]


@dataclass(frozen=True)
class EngineOptions:
    """How the model runs (typed; the CLI and the Ray job fill it)."""

    model_dir: Path = Path("models/gacl")
    device: str = "cpu"  # auto | cpu | cuda, as SKETCHQ_DEVICE
    batch_size: int = 64  # most sketches in one model call
    intra_op_threads: int = 1  # 1: bit-identical to the service whatever the batch


class OfflineScorer:
    """One ONNX Runtime session and the model's card; `score` turns a chunk of drawings into rows."""

    def __init__(self, opts: EngineOptions) -> None:
        self.opts = opts
        self.model = LoadedModel.load(opts.model_dir)
        settings = Settings(model_dir=opts.model_dir, device=opts.device, intra_op_threads=opts.intra_op_threads)
        self.engine = Engine(self.model, settings)
        self.buckets = settings.buckets_for(self.model.preprocess.max_points)
        self.classes = self.model.classes
        self.class_index = self.model.class_index
        self.check = self.model.card.thresholds.label_check

    def raw(self, points: Sequence[np.ndarray]) -> list[RawScore]:
        """(T_i, 7) float32 each -> raw outputs in order, in batches of one length bucket each."""
        by_bucket: dict[int, list[int]] = {}
        for i, p in enumerate(points):
            by_bucket.setdefault(bucket_index(len(p), self.buckets), []).append(i)
        out: list[RawScore | None] = [None] * len(points)
        size = self.opts.batch_size
        for b, members in by_bucket.items():
            for start in range(0, len(members), size):
                idx = members[start:start + size]
                x, lengths = collate([points[i] for i in idx], self.buckets[b])  # (B, T_b, 7), (B,)
                res = self.engine.run(x, lengths)
                for k, i in enumerate(idx):
                    out[i] = RawScore(float(res.q[k]), res.cos[k], int(res.pred[k]))
        return [r for r in out if r is not None]

    def score(self, drawings: Sequence[Drawing]) -> list[Row]:
        """Rows in the order of the drawings (columns: offline.rows.SCHEMA)."""
        cfg = self.model.preprocess
        raws = self.raw(flats_to_points([d.sketch for d in drawings], cfg))
        rows = []
        for d, raw in zip(drawings, raws, strict=True):
            label = None if d.category is None else self.class_index[d.category]
            r = self.model.interpret(raw, 1, label)
            rows.append({
                "key_id": d.key_id, "file": d.file, "line": d.line, "category": d.category,
                "quality": r.quality, "quality_percentile": r.quality_percentile,
                "predicted_class": self.classes[r.class_index], "confidence": r.confidence,
                "theta": r.label_theta, "label_suspect": r.label_suspect, "label_quality": r.label_quality,
                "verdict": verdict(r.quality, r.label_suspect, self.check)})
        return rows
