"""The model card: one typed, versioned description of an exported scorer, shared by training and the service.

Training writes it (`training.export`), calibration and `agreement --write-card` update it through this type,
and the service reads its fields. The file is `model_card.json` beside `model.onnx`; `card_version` says
which layout it has, and a card of another version is refused with a message that says so (version 1: the
layout of the first shipped cards; version 2 adds the label-cleansing thresholds `q_reject` and `calibration`
to `thresholds.label_check`; both are read, version 2 is written).

Blocks that describe a run rather than drive the service (`encoder.config`, `gacl`, `metrics`, `training`,
`data`, the calibration record) stay free-form mappings, written and read back unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from sketchprep.preprocess import FEATURE_DIM, FEATURE_NAMES, PreprocessConfig

CARD_FILE = "model_card.json"
CARD_VERSION = 2  # written by this code; READABLE_VERSIONS are read
READABLE_VERSIONS = (1, 2)  # 2 adds thresholds.label_check.q_reject and .calibration (label cleansing)
REFERENCE_U_A = 110.0  # GACL's reference upper end of the quality range


class UnsupportedCardError(ValueError):
    """The card's `card_version` is missing or not one this code reads."""


def check_version(data: Any) -> None:
    version = data.get("card_version") if isinstance(data, dict) else None
    if type(version) is int and version in READABLE_VERSIONS:
        return
    if version is None:
        raise UnsupportedCardError(
            f"the model card has no card_version (written before cards were versioned); this code reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}: add \"card_version\": 1 to the card, nothing else "
            "changes")
    raise UnsupportedCardError(f"model card version {version!r} is not supported: this code reads versions "
                               f"{', '.join(map(str, READABLE_VERSIONS))} (export the model again with this version "
                               "of sketchq)")


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PreprocessBlock(_Block):
    max_points: int
    offset_scale: float
    rdp_start: float
    feature_dim: int = FEATURE_DIM
    feature_names: list[str] = Field(default_factory=lambda: list(FEATURE_NAMES))

    @classmethod
    def of(cls, cfg: PreprocessConfig) -> PreprocessBlock:
        return cls.model_validate(cfg.to_dict())

    def config(self) -> PreprocessConfig:
        return PreprocessConfig(self.max_points, self.offset_scale, self.rdp_start)


class EncoderBlock(_Block):
    kind: str
    config: dict[str, Any]
    parameters: int


class QualityPercentiles(_Block):
    """q at each level (percent) among validation sketches, per predicted class and over all of them."""

    levels: list[int]
    per_class: dict[str, list[float]]
    global_: list[float] = Field(alias="global")

    def table(self, cls: str) -> list[float]:
        return self.per_class.get(cls, self.global_)


class LabelCheck(_Block):
    """Thresholds of the label-cleansing rule (`sketchprep.label_rule`). `q_reject` and `calibration` come with
    card version 2 (`sketchq-train calibrate-labels`); a version-1 card lacks them."""

    q_min: float
    theta_suspect: float
    q_reject: float | None = None
    calibration: dict[str, Any] | None = None
    procedure: str

    @model_serializer(mode="wrap")
    def _absent_when_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class ScoreRuleBlock(_Block):
    features: list[str]
    weights: list[float]
    bias: float
    tau: float
    max: float


class QThresholds(_Block):
    q_tau: float
    q_max: float


class AttributionThresholds(_Block):
    """The verdict rule of POST /attribute. Optional parts are absent from a card that lacks them (the
    thresholds an export writes before `sketchq-train calibrate` has run)."""

    rule: Literal["q", "score"] | None = None
    score: ScoreRuleBlock | None = None
    q_tau: float
    q_max: float
    per_class: dict[str, QThresholds]
    percentiles: dict[str, int] | None = None
    max_removals: int | None = None
    min_gain: float | None = None
    calibration: dict[str, Any] | None = None
    procedure: str

    @model_serializer(mode="wrap")
    def _absent_when_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class Thresholds(_Block):
    label_check: LabelCheck
    attribution: AttributionThresholds


class OnnxBlock(_Block):
    file: str
    sha256: str
    opset: int
    inputs: dict[str, str]
    outputs: dict[str, str]


class ModelCard(_Block):
    card_version: int  # CARD_VERSION; checked before anything else
    name: str
    version: str
    created: str
    classes: list[str]
    preprocess: PreprocessBlock
    encoder: EncoderBlock
    head: str
    gacl: dict[str, Any] | None
    probability_scale: float
    feature_scale: float
    quality_percentiles: QualityPercentiles
    thresholds: Thresholds
    metrics: dict[str, Any]
    training: dict[str, Any]
    data: dict[str, Any]
    onnx: OnnxBlock

    @model_validator(mode="before")
    @classmethod
    def _known_version(cls, data: Any) -> Any:
        check_version(data)
        return data

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelCard:
        """The card of an exported model folder; UnsupportedCardError for another version, ValueError when
        the card is malformed, OSError when it cannot be read."""
        data = json.loads((Path(model_dir) / CARD_FILE).read_text())
        check_version(data)
        return cls.model_validate(data)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / CARD_FILE
        path.write_text(json.dumps(self.to_json_dict(), indent=1) + "\n")
        return path

    def onnx_path(self, model_dir: str | Path) -> Path:
        return Path(model_dir) / self.onnx.file

    @property
    def quality_top(self) -> float:
        """The top u_a of GACL's quality range (the reference constant 110 for a softmax model)."""
        return float((self.gacl or {}).get("u_a", REFERENCE_U_A))
