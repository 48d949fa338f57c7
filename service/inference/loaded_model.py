"""The model folder (model.onnx + model_card.json) as the service loads it, and the reading of its outputs.

The card is sketchprep's typed, versioned model card: a card of another version is refused. model.onnx is
checked against the card's sha256. `LoadedModel.interpret` turns one sketch's raw outputs (q, cosines to the
class centres, predicted index) into the numbers the API returns: probabilities = softmax(probability_scale *
cos), theta = arccos of the cosine to the predicted class, quality percentile from the card's per-class
validation table, and the label check (`sketchprep.label_rule.is_suspect`, the rule `sketchq clean` applies
too).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from service.core.errors import InferenceError, ModelLoadError
from service.inference.outputs import RawScore
from sketchprep.card import ModelCard
from sketchprep.files import sha256_file
from sketchprep.label_rule import is_suspect
from sketchprep.preprocess import PreprocessConfig


class Interpretation(NamedTuple):
    quality: float
    quality_percentile: float
    class_index: int
    confidence: float
    top_k: list[tuple[int, float]]  # (class index, probability), most probable first
    theta: float
    label_theta: float | None
    label_suspect: bool | None
    label_quality: float | None  # q cos(label_theta): q along the claimed class's centre


def _interp(x: float, xp: list[float], fp: list[float]) -> float:
    """np.interp(x, xp, fp) for one x and a non-decreasing xp: linear between neighbours, clamped at the ends."""
    j = bisect.bisect_right(xp, x) - 1
    if j < 0:
        return fp[0]
    if j >= len(xp) - 1:
        return fp[-1]
    return fp[j] + (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j])


@dataclass(frozen=True)
class LoadedModel:
    card: ModelCard
    onnx_path: Path
    sha256: str  # of model.onnx as loaded
    preprocess: PreprocessConfig
    levels: np.ndarray  # (L,) percent levels 0..100
    tables: np.ndarray  # (C, L) q at each level, per class

    @classmethod
    def load(cls, model_dir: Path, verify_sha256: bool = True) -> LoadedModel:
        try:
            card = ModelCard.load(model_dir)
            onnx_path = card.onnx_path(model_dir)
            sha = sha256_file(onnx_path)
            if verify_sha256 and card.onnx.sha256 and card.onnx.sha256 != sha:
                raise ModelLoadError(f"{onnx_path} has sha256 {sha}, the card says {card.onnx.sha256}")
            pct = card.quality_percentiles
            levels = np.asarray(pct.levels, dtype=np.float64)
            tables = np.stack([np.asarray(pct.table(c), dtype=np.float64) for c in card.classes])
        except ModelLoadError:
            raise
        except (OSError, KeyError, TypeError, ValueError) as e:
            raise ModelLoadError(f"cannot load the model from {model_dir}: {type(e).__name__}: {e}") from e
        if tables.shape[1] != levels.shape[0] or np.any(np.diff(tables, axis=1) < 0):
            raise ModelLoadError("quality_percentiles tables must match the levels and be non-decreasing")
        return cls(card, onnx_path, sha, card.preprocess.config(), levels, tables)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def classes(self) -> list[str]:
        return self.card.classes

    @property
    def probability_scale(self) -> float:
        return self.card.probability_scale

    @property
    def q_min(self) -> float:
        return self.card.thresholds.label_check.q_min

    @property
    def theta_suspect(self) -> float:
        return self.card.thresholds.label_check.theta_suspect

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
        label_theta = suspect = label_quality = None
        if label_index is not None:
            label_cos = min(1.0, max(-1.0, cos[label_index]))
            label_theta = math.acos(label_cos)
            label_quality = q * label_cos
            suspect = is_suspect(q, label_theta, pred, label_index, self.card.thresholds.label_check)
        return Interpretation(
            quality=q, quality_percentile=_interp(q, tables[pred], levels) / 100.0, class_index=pred,
            confidence=probs[pred], top_k=[(j, probs[j]) for j in order],
            theta=math.acos(min(1.0, max(-1.0, cos[pred]))), label_theta=label_theta, label_suspect=suspect,
            label_quality=label_quality)

    def public(self, internals: bool = False) -> dict[str, Any]:
        """What GET /v1/model shows: without `internals`, not the attribution rule's weights and per-class
        thresholds (an attacker could tune inputs against them) nor the training checkpoint's path."""
        thresholds = self.card.thresholds.model_dump(by_alias=True)
        metrics = dict(self.card.metrics)
        if not internals:
            rule = thresholds.get("attribution") or {}
            thresholds["attribution"] = {k: rule.get(k) for k in ("rule", "max_removals", "min_gain") if k in rule}
            metrics.pop("checkpoint", None)
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "classes": self.classes,
                "probability_scale": self.probability_scale, "preprocess": self.card.preprocess.model_dump(),
                "thresholds": thresholds, "metrics": metrics}
