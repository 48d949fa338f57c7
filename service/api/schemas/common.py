"""What several resources share: the sketch as sent (`SketchIn`) and the model reference in every answer.

Structural rules live here (types, finite numbers, [xs, ys(, ts)] strokes with equally long rows and
non-decreasing times, no empty stroke, exactly one of strokes/points/stroke3, no unknown field); the
configurable limits (sketches per request, strokes,
points, coordinate size) are checked against the settings in `service.ops.limits`.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SKETCH_FIELDS = ("strokes", "points", "stroke3")


class StrictRequest(BaseModel):
    """A request object: unknown fields are refused, naming the field and the nearest valid one (a typo such
    as `topk` used to be ignored and answered with the default)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = [info.alias or name for name, info in cls.model_fields.items()]
            for key in data:
                if key not in known:
                    near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
                    hint = f"; did you mean {near[0]!r}?" if near else ""
                    raise PydanticCustomError(
                        "unknown_field", "unknown field '{field}'{hint} (fields here: {known})",
                        {"field": str(key)[:100], "hint": hint, "known": ", ".join(known)})
        return data


def _not_text(v: Any) -> Any:
    if isinstance(v, str | bool):  # "3" and true are not numbers (3.0 is: JSON Schema calls it an integer)
        raise PydanticCustomError("int_type", "Input should be a valid integer (a JSON number)")
    return v


TOP_K_MAX = 1000  # the most classes an answer lists
LABEL_MAX_LENGTH = 200  # characters of a sketch's label (a class name)

# Integers of requests: 3 and 3.0, not "3", true or 3.5 (bounds before the validator: they reach the schema)
NonNegativeInt = Annotated[int, Field(ge=0), BeforeValidator(_not_text)]
PositiveInt = Annotated[int, Field(ge=1), BeforeValidator(_not_text)]
TopK = Annotated[int, Field(ge=1, le=TOP_K_MAX), BeforeValidator(_not_text)]


def _pen(v: float) -> float:
    if v not in (0.0, 1.0):
        raise ValueError(f"pen must be 0 or 1, got {v}")
    return v


Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # a JSON number; no NaN/Infinity/strings
Row = Annotated[list[Coordinate], Field(min_length=1)]  # the xs, the ys or the times of one stroke
# [xs, ys] or [xs, ys, ts], rows equally long (not expressible in JSON Schema: checked by the validator)
Stroke = Annotated[list[Row], Field(min_length=2, max_length=3)]
Point = Annotated[list[Coordinate], Field(min_length=2, max_length=2)]  # [x, y]
PointStroke = Annotated[list[Point], Field(min_length=1)]
Pen = Annotated[float, Field(strict=True), AfterValidator(_pen), WithJsonSchema({"enum": [0, 1]})]
Stroke3Row = tuple[Coordinate, Coordinate, Pen]  # [dx, dy, pen]


class SketchIn(StrictRequest):
    """One sketch: exactly one of `strokes` (Quick, Draw! `drawing`), `points` (lists of [x, y] points) or
    `stroke3` (Sketch-RNN)."""

    model_config = ConfigDict(json_schema_extra={
        "examples": [{"strokes": [[[0, 40, 80], [0, 60, 0]], [[10, 70], [30, 30]]], "label": "cat"},
                     {"points": [[[0, 0], [40, 60], [80, 0]], [[10, 30], [70, 30]]], "label": "cat"}],
        "oneOf": [{"required": [name]} for name in SKETCH_FIELDS]})

    # A format field may be left out, never sent as null (the contract's oneOf counts a null as present).
    strokes: list[Stroke] = Field(  # type: ignore[assignment]
        None, min_length=1,
        description="Quick, Draw! drawing: a list of strokes, each [xs, ys] or [xs, ys, ts] (equally long rows; "
                    "times non-decreasing and otherwise ignored), any coordinate scale")
    points: list[PointStroke] = Field(  # type: ignore[assignment]
        None, min_length=1, description="a list of strokes, each a list of [x, y] points; any coordinate scale")
    stroke3: list[Stroke3Row] = Field(  # type: ignore[assignment]
        None, min_length=1,
        description="Sketch-RNN stroke-3 rows [dx, dy, pen]; pen = 1 lifts the pen after the point")
    label: str | None = Field(
        None, max_length=LABEL_MAX_LENGTH,
        description="the category the client believes the sketch shows; enables label_check")

    @field_validator("strokes")
    @classmethod
    def _strokes_well_formed(cls, v: list[list[list[float]]] | None) -> list[list[list[float]]] | None:
        for j, stroke in enumerate(v or ()):
            if len(stroke) == 2 and len(stroke[0]) == len(stroke[1]):
                continue  # the usual case, checked cheaply (this runs for every stroke of every request)
            lengths = [len(row) for row in stroke]
            if len(set(lengths)) > 1:
                raise ValueError(f"stroke {j}: its rows (xs, ys{', ts' if len(stroke) == 3 else ''}) have "
                                 f"{', '.join(map(str, lengths))} values; they must be equally long")
            if len(stroke) == 3 and any(b < a for a, b in zip(stroke[2], stroke[2][1:], strict=False)):
                raise ValueError(f"stroke {j}: its third row is read as times and must not decrease; if the rows "
                                 f"are [x, y] points, send the sketch as \"points\"")
        return v

    @model_validator(mode="after")
    def _exactly_one_format(self) -> SketchIn:
        given = [name for name in SKETCH_FIELDS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(SKETCH_FIELDS)} (got "
                             f"{', '.join(given) if given else 'none'})")
        return self


class ModelRef(BaseModel):
    name: str
    version: str
    sha256: str = Field(description="sha256 of the ONNX file serving the request")
