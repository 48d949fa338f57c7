"""POST /attribute: the request and the answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import ModelRef, NonNegativeInt, SketchIn, StrictRequest


class AttributeRequest(StrictRequest):
    sketch: SketchIn = Field(description="the sketch to explain (its label, if any, is ignored)")
    q_tau: float | None = Field(
        None, strict=True, gt=0, allow_inf_nan=False,
        description="quality below which a sketch is explained; setting q_tau or q_max judges by the paper's q rule "
                    "instead of the card's score rule (default: the model card's, per predicted class)")
    q_max: float | None = Field(
        None, strict=True, gt=0, allow_inf_nan=False,
        description="quality a cleaned subset must reach to count as rare_hard (default: the model card's)")
    max_removals: NonNegativeInt | None = Field(
        None,
        description="most strokes removed (default: the model card's; at most attribute_max_removals)")


class CleanedSketch(BaseModel):
    strokes: list[list[list[float]]] = Field(description="the best subset's strokes, in the input's coordinates")


class AttributeThresholds(BaseModel):
    rule: Literal["score", "q"] = Field(
        "q", description="what the verdict compared: `score` (the card's calibrated score of q and the angles to "
                         "the class centres, against score_tau / score_max) or `q` (against q_tau / q_max; used "
                         "when the card has no score rule or the request sets q_tau or q_max)")
    q_tau: float
    q_max: float
    score_tau: float | None = None
    score_max: float | None = None
    max_removals: int
    min_gain: float = Field(description="a removal counts only if it raises q by more than this")


class AttributeResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    model: ModelRef
    verdict: str = Field(description="benign (value >= tau), rare_hard (a stroke subset reaches max) or malicious; "
                                     "the value is the rule's (thresholds.rule)")
    quality: float = Field(description="q of the sketch as sent")
    class_: str = Field(alias="class", description="predicted class of the sketch as sent")
    best_quality: float = Field(description="q of the best stroke subset found")
    best_class: str = Field(description="predicted class of the best subset")
    removed_strokes: list[int] = Field(description="indices into the input's strokes that were removed")
    cleaned: CleanedSketch
    thresholds: AttributeThresholds
    evaluations: int = Field(description="sketches scored for this answer (the input and every variant tried)")
    trajectory: list[float] = Field(description="q after each accepted removal")
    score: float | None = Field(None, description="the score rule's value of the sketch as sent (rule `score`)")
    best_score: float | None = Field(None, description="the score rule's value of the best subset (rule `score`)")
    cached: bool = Field(description="true when every evaluation came from the cache")
