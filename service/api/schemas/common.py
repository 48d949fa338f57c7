"""What several resources share: the sketch as sent (`SketchIn`) and the model reference in every answer.

Structural rules live here (types, finite numbers, [xs, ys(, ts)] strokes with equal xs/ys lengths, no
empty stroke, exactly one of strokes/stroke3); the configurable limits (sketches per request, strokes,
points, coordinate size) are checked against the settings in `service.ops.limits`.
"""

from __future__ import annotations

from typing import Annotated

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


class ModelRef(BaseModel):
    name: str
    version: str
    sha256: str = Field(description="sha256 of the ONNX file serving the request")
