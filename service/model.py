"""The model folder (model.onnx + model_card.json): loading, checking, and reading the model's outputs.

`ModelCard.interpret` turns one sketch's raw outputs (q, cosines to the class centres, predicted index)
into the numbers the API returns: probabilities = softmax(probability_scale * cos), theta = arccos of the
cosine to the predicted class, quality percentile from the card's per-class validation table, and the
label check (suspect when q >= q_min and the angle to the claimed class > theta_suspect).
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from service.errors import InferenceError, ModelLoadError
from sketchprep.card import ModelCard as TypedCard
from sketchprep.files import sha256_file as file_sha256
from sketchprep.preprocess import PreprocessConfig

CARD_FILE = "model_card.json"


class RawScore(NamedTuple):
    """One sketch's model outputs."""

    q: float
    cos: np.ndarray  # (C,) float32 cosine to each class centre
    pred: int


class Interpretation(NamedTuple):
    quality: float
    quality_percentile: float
    class_index: int
    confidence: float
    top_k: list[tuple[int, float]]  # (class index, probability), most probable first
    theta: float
    label_theta: float | None
    label_suspect: bool | None


def _interp(x: float, xp: list[float], fp: list[float]) -> float:
    """np.interp(x, xp, fp) for one x and a non-decreasing xp: linear between neighbours, clamped at the ends."""
    j = bisect.bisect_right(xp, x) - 1
    if j < 0:
        return fp[0]
    if j >= len(xp) - 1:
        return fp[-1]
    return fp[j] + (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j])


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
    typed: TypedCard

    @classmethod
    def load(cls, model_dir: Path, verify_sha256: bool = True) -> ModelCard:
        card_path = Path(model_dir) / CARD_FILE
        try:
            typed = TypedCard.load(model_dir)  # refuses a card of another version
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
                        q_min=float(check["q_min"]), theta_suspect=float(check["theta_suspect"]), raw=card,
                        typed=typed)
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

    @cached_property
    def _lookup(self) -> tuple[list[list[float]], list[float]]:
        """Per-class percentile tables and the levels as Python lists (for the per-sketch interpretation)."""
        return self.tables.tolist(), self.levels.tolist()

    def interpret(self, raw: RawScore, top_k: int, label_index: int | None) -> Interpretation:
        """One sketch's outputs -> the API's numbers, in plain Python floats (C is small: this is cheaper
        than numpy per call and depends on nothing but this sketch, so batching cannot change it)."""
        cos = raw.cos.tolist() if isinstance(raw.cos, np.ndarray) else list(raw.cos)
        q, pred, c = float(raw.q), int(raw.pred), len(cos)
        if not (math.isfinite(q) and all(map(math.isfinite, cos)) and 0 <= pred < c):
            raise InferenceError("the model produced a non-finite or out-of-range output")
        scale = self.probability_scale
        logits = [scale * x for x in cos]
        top = max(logits)
        e = [math.exp(x - top) for x in logits]
        total = sum(e)
        probs = [x / total for x in e]
        order = sorted(range(c), key=probs.__getitem__, reverse=True)[:top_k]  # stable: ties keep index order
        tables, levels = self._lookup
        label_theta = suspect = None
        if label_index is not None:
            label_theta = math.acos(min(1.0, max(-1.0, cos[label_index])))
            suspect = q >= self.q_min and label_theta > self.theta_suspect
        return Interpretation(
            quality=q, quality_percentile=_interp(q, tables[pred], levels) / 100.0, class_index=pred,
            confidence=probs[pred], top_k=[(j, probs[j]) for j in order],
            theta=math.acos(min(1.0, max(-1.0, cos[pred]))), label_theta=label_theta, label_suspect=suspect)

    def interpret_many(self, raws: Sequence[RawScore], top_k: int,
                       label_indices: Sequence[int | None]) -> list[Interpretation]:
        return [self.interpret(r, top_k, label) for r, label in zip(raws, label_indices, strict=True)]

    def public(self) -> dict[str, Any]:
        """What GET /v1/model shows."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "classes": self.classes,
                "probability_scale": self.probability_scale, "preprocess": self.raw.get("preprocess", {}),
                "thresholds": self.raw.get("thresholds", {}), "metrics": self.raw.get("metrics", {})}
