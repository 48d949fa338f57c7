"""Request and response bodies (field names are the API contract).

Structural rules live here (types, finite numbers, [xs, ys(, ts)] strokes with equal xs/ys lengths, no
empty stroke, exactly one of strokes/stroke3); the configurable limits (sketches per request, strokes,
points, coordinate size) are checked against the settings in `service.sketches`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # a JSON number; no NaN/Infinity/strings
Stroke = Annotated[list[list[Coordinate]], Field(min_length=2, max_length=3)]  # [xs, ys] or [xs, ys, ts]
Stroke3Row = Annotated[list[Coordinate], Field(min_length=3, max_length=3)]  # [dx, dy, pen]


class SketchIn(BaseModel):
    """One sketch: exactly one of `strokes` (Quick, Draw! `drawing`) or `stroke3` (Sketch-RNN)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"strokes": [[[0, 40, 80], [0, 60, 0]], [[10, 70], [30, 30]]], "label": "cat"}]})

    strokes: list[Stroke] | None = Field(
        None, min_length=1,
        description="Quick, Draw! drawing: a list of strokes, each [xs, ys] or [xs, ys, ts] (times ignored), "
                    "any coordinate scale")
    stroke3: list[Stroke3Row] | None = Field(
        None, min_length=1,
        description="Sketch-RNN stroke-3 rows [dx, dy, pen]; pen = 1 lifts the pen after the point")
    label: str | None = Field(
        None, max_length=200, description="the category the client believes the sketch shows; enables label_check")

    @field_validator("strokes")
    @classmethod
    def _strokes_well_formed(cls, v: list[list[list[float]]] | None) -> list[list[list[float]]] | None:
        for j, stroke in enumerate(v or ()):
            n_x, n_y = len(stroke[0]), len(stroke[1])
            if n_x != n_y:
                raise ValueError(f"stroke {j}: xs has {n_x} values but ys has {n_y}; they must be equally long")
            if n_x == 0:
                raise ValueError(f"stroke {j} is empty: every stroke needs at least one point")
        return v

    @field_validator("stroke3")
    @classmethod
    def _pen_is_binary(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        for j, row in enumerate(v or ()):
            if row[2] not in (0.0, 1.0):
                raise ValueError(f"row {j}: pen must be 0 or 1, got {row[2]}")
        return v

    @model_validator(mode="after")
    def _exactly_one_format(self) -> SketchIn:
        if (self.strokes is None) == (self.stroke3 is None):
            raise ValueError("give exactly one of 'strokes' (Quick, Draw! format) or 'stroke3' (Sketch-RNN format)")
        return self


class ScoreRequest(BaseModel):
    sketches: list[SketchIn] = Field(
        min_length=1, description="1 to max_sketches (default 256) sketches, answered in the same order")
    top_k: int = Field(3, ge=1, le=1000, description="how many most probable classes to list (capped at the "
                                                       "number of classes)")


class ModelRef(BaseModel):
    name: str
    version: str
    sha256: str = Field(description="sha256 of the ONNX file serving the request")


class ClassProbability(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class")
    probability: float


class LabelCheck(BaseModel):
    label: str = Field(description="the label the client sent")
    theta: float = Field(description="angle (radians) between the sketch's feature and the label's class centre")
    suspect: bool = Field(description="true when the sketch is of decent quality yet far from the claimed class")


class ScoreResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    quality: float = Field(description="q: the feature magnitude (higher = better drawn)")
    quality_percentile: float = Field(
        description="rank of q among validation sketches of the predicted class, 0..1")
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


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str
    sha256: str
    classes: list[str]
    probability_scale: float
    preprocess: dict[str, Any]
    thresholds: dict[str, Any]
    metrics: dict[str, Any]
    providers: list[str] = Field(description="ONNX Runtime execution providers in use")
    max_sketches: int
    max_batch: int


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    providers: list[str]
    device: str
    queue_depth: int
    max_queue: int
    cache: str
    model: ModelRef


class AttributeRequest(BaseModel):
    sketch: SketchIn = Field(description="the sketch to explain (its label, if any, is ignored)")
    q_tau: float | None = Field(
        None, gt=0, allow_inf_nan=False,
        description="quality below which a sketch is explained; setting q_tau or q_max judges by the paper's q rule "
                    "instead of the card's score rule (default: the model card's, per predicted class)")
    q_max: float | None = Field(
        None, gt=0, allow_inf_nan=False,
        description="quality a cleaned subset must reach to count as rare_hard (default: the model card's)")
    max_removals: int | None = Field(
        None, ge=0, description="most strokes removed (default: the model card's; at most attribute_max_removals)")


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


class EnhanceRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sketch: SketchIn = Field(description="the sketch to enhance (its label, if any, is ignored; use `class`)")
    class_: str | None = Field(
        None, alias="class", max_length=200,
        description="the class the VAE draws (default: the scorer's predicted class of the sketch)")
    steps: int | None = Field(
        None, ge=0, description="search steps (default enhance_default_steps; at most enhance_max_steps)")
    population: int | None = Field(
        None, ge=1, description="latents per step (default enhance_population; at most enhance_max_population)")
    alpha: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="weight of the identity term alpha*||z - z0||^2 (default enhance_alpha; at most "
                    "enhance_max_alpha)")
    seed: int | None = Field(None, ge=0, description="seed of the search (default 0; at most enhance_max_seed)")


class EnhancedSketch(BaseModel):
    strokes: list[list[list[float]]] = Field(
        description="the enhanced sketch as a Quick, Draw! drawing in the input's coordinates: the same "
                    "bounding-box centre and longest side as the input sketch")


class TrajectoryPoint(BaseModel):
    step: int = Field(description="0: the decode of z0 (the input's latent); k: after search step k")
    quality: float = Field(description="q of the best sketch found so far")


class EnhanceResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    model: ModelRef
    class_: str = Field(alias="class", description="the class the VAE drew")
    original_quality: float = Field(description="q of the sketch as sent")
    enhanced: EnhancedSketch
    enhanced_quality: float = Field(description="q of the enhanced sketch (the best decode found)")
    distance: float = Field(
        description="symmetric Chamfer distance between the input and the enhanced sketch, each normalised to "
                    "[0, 1] (longest side 1)")
    trajectory: list[TrajectoryPoint]
    steps: int
    population: int
    alpha: float
    sigma: float = Field(description="the evolution strategy's initial step size (the server's setting)")
    seed: int
    evaluations: int = Field(description="sketches scored for this answer (input, z0's decode, every candidate)")
    cached: bool = Field(description="true when every evaluation came from the scorer's cache (the VAE decodes "
                                     "are always recomputed)")
