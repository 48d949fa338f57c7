"""The model folder (model.onnx + model_card.json): loading, checking, and reading the model's outputs.

`ModelCard.interpret` turns one sketch's raw outputs (q, cosines to the class centres, predicted index)
into the numbers the API returns: probabilities = softmax(probability_scale * cos), theta = arccos of the
cosine to the predicted class, quality percentile from the card's per-class validation table, and the
label check (suspect when q >= q_min and the angle to the claimed class > theta_suspect).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from service.errors import InferenceError, ModelLoadError
from sketchprep.files import sha256_file as file_sha256
from sketchprep.preprocess import PreprocessConfig

CARD_FILE = "model_card.json"


class RawScore(NamedTuple):
    """One sketch's model outputs."""

    q: float
    cos: np.ndarray  # (C,) float32 cosine to each class centre
    pred: int


@dataclass(frozen=True)
class Interpretation:
    quality: float
    quality_percentile: float
    class_index: int
    confidence: float
    top_k: list[tuple[int, float]]  # (class index, probability), most probable first
    theta: float
    label_theta: float | None
    label_suspect: bool | None




@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    classes: list[str]
    preprocess: PreprocessConfig
    onnx_path: Path
    sha256: str  # of model.onnx as loaded
    probability_scale: float
    levels: np.ndarray  # (L,) percent levels 0..100
    tables: np.ndarray  # (C, L) q at each level, per class
    q_min: float
    theta_suspect: float
    raw: dict[str, Any]

    @classmethod
    def load(cls, model_dir: Path, verify_sha256: bool = True) -> ModelCard:
        card_path = Path(model_dir) / CARD_FILE
        try:
            card = json.loads(card_path.read_text())
            onnx_path = Path(model_dir) / card["onnx"]["file"]
            sha = file_sha256(onnx_path)
            expected = card["onnx"].get("sha256")
            if verify_sha256 and expected and expected != sha:
                raise ModelLoadError(f"{onnx_path} has sha256 {sha}, the card says {expected}")
            classes = [str(c) for c in card["classes"]]
            pct = card["quality_percentiles"]
            levels = np.asarray(pct["levels"], dtype=np.float64)
            tables = np.stack([np.asarray(pct["per_class"].get(c, pct["global"]), dtype=np.float64)
                               for c in classes])
            check = card["thresholds"]["label_check"]
            model = cls(name=str(card["name"]), version=str(card["version"]), classes=classes,
                        preprocess=PreprocessConfig.from_dict(card["preprocess"]), onnx_path=onnx_path, sha256=sha,
                        probability_scale=float(card["probability_scale"]), levels=levels, tables=tables,
                        q_min=float(check["q_min"]), theta_suspect=float(check["theta_suspect"]), raw=card)
        except ModelLoadError:
            raise
        except (OSError, KeyError, TypeError, ValueError) as e:
            raise ModelLoadError(f"cannot load the model from {model_dir}: {type(e).__name__}: {e}") from e
        if tables.shape[1] != levels.shape[0] or np.any(np.diff(tables, axis=1) < 0):
            raise ModelLoadError("quality_percentiles tables must match the levels and be non-decreasing")
        return model

    @property
    def class_index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def interpret(self, raw: RawScore, top_k: int, label_index: int | None) -> Interpretation:
        return self.interpret_many([raw], top_k, [label_index])[0]

    def interpret_many(self, raws: Sequence[RawScore], top_k: int,
                       label_indices: Sequence[int | None]) -> list[Interpretation]:
        """Vectorised over the N sketches of a request."""
        q = np.array([r.q for r in raws], dtype=np.float64)  # (N,)
        cos = np.stack([r.cos for r in raws]).astype(np.float64)  # (N, C)
        pred = np.array([r.pred for r in raws], dtype=np.int64)  # (N,)
        n, c = cos.shape
        if not (np.isfinite(q).all() and np.isfinite(cos).all() and ((pred >= 0) & (pred < c)).all()):
            raise InferenceError("the model produced a non-finite or out-of-range output")
        logits = self.probability_scale * cos
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)  # (N, C)
        k = min(top_k, c)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]  # (N, k)
        rows = np.arange(n)
        angles = np.arccos(np.clip(cos, -1.0, 1.0))  # (N, C)
        # Percentile: each sketch's q in its predicted class's table.
        pct = np.array([np.interp(q[i], self.tables[pred[i]], self.levels) for i in range(n)]) / 100.0
        confidence = probs[rows, pred]
        out = []
        for i in range(n):
            label = label_indices[i]
            label_theta = suspect = None
            if label is not None:
                label_theta = float(angles[i, label])
                suspect = bool(q[i] >= self.q_min and label_theta > self.theta_suspect)
            out.append(Interpretation(
                quality=float(q[i]), quality_percentile=float(pct[i]), class_index=int(pred[i]),
                confidence=float(confidence[i]), top_k=[(int(j), float(probs[i, j])) for j in order[i]],
                theta=float(angles[i, pred[i]]), label_theta=label_theta, label_suspect=suspect))
        return out

    def public(self) -> dict[str, Any]:
        """What GET /v1/model shows."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "classes": self.classes,
                "probability_scale": self.probability_scale, "preprocess": self.raw.get("preprocess", {}),
                "thresholds": self.raw.get("thresholds", {}), "metrics": self.raw.get("metrics", {})}
