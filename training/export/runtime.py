"""An exported model run in process on ONNX Runtime with the service's preprocessing (calibration, the
attribution evaluation, agreement of exported models)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from sketchprep.attribution import Eval
from sketchprep.card import ModelCard
from sketchprep.preprocess import collate, sketch_to_points
from sketchprep.strokes import Sketch


class OnnxScorer:
    """Scores stroke lists with an exported model folder (model.onnx + its card)."""

    def __init__(self, model_dir: Path):
        self.card = ModelCard.load(model_dir)
        self.pre = self.card.preprocess.config()
        self.sess = ort.InferenceSession(str(self.card.onnx_path(model_dir)), ort.SessionOptions(),
                                         providers=["CPUExecutionProvider"])

    def score_now(self, sketches: Sequence[Sketch]) -> list[Eval]:
        x, lens = collate([sketch_to_points(s, self.pre) for s in sketches])
        q, cos, _ = self.sess.run(None, {"points": x, "lengths": lens})
        return [Eval(float(a), c) for a, c in zip(q, cos, strict=True)]

    async def score(self, sketches: Sequence[Sketch]) -> list[Eval]:
        return self.score_now(sketches)

    def percentile_q(self, class_index: int, level: float) -> float:
        pct = self.card.quality_percentiles
        return float(np.interp(level, pct.levels, pct.per_class[self.card.classes[class_index]]))
