"""GET /v1/examples: the answer (the web page's Browse data)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import ModelRef

GROUPS = ("bottom", "middle", "top")


class ExampleDrawing(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    rank: int = Field(description="position among the class's validation drawings ordered by q (1 = lowest q)")
    key_id: str | None = Field(description="Quick, Draw! key_id of the drawing")
    recognized: bool | None = Field(description="whether the Quick, Draw! game recognised it (null: unknown)")
    quality: float = Field(description="q of the drawing as computed by the model named in `model`")
    quality_percentile: float = Field(description="its percentile among validation sketches of its predicted class")
    class_: str = Field(alias="class", description="predicted class")
    strokes: list[list[list[float]]] = Field(description="the drawing, Quick, Draw! simplified format")


class ExampleGroups(BaseModel):
    bottom: list[ExampleDrawing] = Field(description="the lowest q, lowest first")
    middle: list[ExampleDrawing] = Field(description="around the median q")
    top: list[ExampleDrawing] = Field(description="the highest q, highest last")


class Examples(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    category: str
    validation_count: int = Field(description="validation drawings of this class that were ranked")
    groups: ExampleGroups
    model: ModelRef = Field(description="the model that computed q for these drawings")
    current: bool = Field(description="true when that model is the one this service has loaded")
    licence: str
