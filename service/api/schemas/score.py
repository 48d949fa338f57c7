"""POST /score: the request and the answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import ModelRef, SketchIn, StrictRequest, TopK

TOP_K_DEFAULT = 3


class ScoreRequest(StrictRequest):
    sketches: list[SketchIn] = Field(
        min_length=1, description="1 to max_sketches (default 256) sketches, answered in the same order")
    top_k: TopK = Field(
        TOP_K_DEFAULT, description="how many most probable classes to list (capped at the number of classes)")


class ClassProbability(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class")
    probability: float


class LabelCheck(BaseModel):
    label: str = Field(description="the label the client sent")
    theta: float = Field(description="angle (radians) between the sketch's feature and the label's class centre")
    suspect: bool = Field(
        description="true when the label is probably wrong: the sketch is well drawn (q >= the card's q_min), far "
                    "from the claimed class (theta > theta_suspect) and not predicted as it (sketchprep/label_rule.py)")
    quality: float = Field(
        description="q cos(theta): q along the claimed class's centre, the quality of the sketch as a drawing of "
                    "that class: at most q, lower the further the sketch is from the class (negative when it "
                    "points away from it)")


class ScoreResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    quality: float = Field(description="q: the feature magnitude (higher = better drawn)")
    quality_percentile: float = Field(
        description="rank of q among validation sketches of the predicted class as a fraction 0..1 (0.9: higher "
                    "than 90 % of them), not 0..100; the name is kept for compatibility")
    class_: str = Field(alias="class", description="predicted class")
    confidence: float = Field(description="probability of the predicted class")
    top_k: list[ClassProbability]
    theta: float = Field(description="angle (radians) to the predicted class centre")
    label_check: LabelCheck | None = Field(description="present when the sketch came with a label")
    cached: bool = Field(description="true when the answer came from the cache")


class ScoreResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: ModelRef
    results: list[ScoreResult]
