"""POST /enhance: the request and the answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import ModelRef, NonNegativeInt, PositiveInt, SketchIn, StrictRequest


class EnhanceRequest(StrictRequest):
    model_config = ConfigDict(populate_by_name=True)

    sketch: SketchIn = Field(description="the sketch to enhance (its label, if any, is ignored; use `class`)")
    class_: str | None = Field(
        None, alias="class", max_length=200,
        description="the class the VAE draws (default: the scorer's predicted class of the sketch)")
    steps: NonNegativeInt | None = Field(
        None,
        description="search steps (default enhance_default_steps; at most enhance_max_steps)")
    population: PositiveInt | None = Field(
        None,
        description="latents per step (default enhance_population; at most enhance_max_population)")
    alpha: float | None = Field(
        None, strict=True, ge=0, allow_inf_nan=False,
        description="weight of the identity term alpha*||z - z0||^2 (default enhance_alpha; at most "
                    "enhance_max_alpha)")
    seed: NonNegativeInt | None = Field(
        None, description="seed of the search (default 0; at most enhance_max_seed)")


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
