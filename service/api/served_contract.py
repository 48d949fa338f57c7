"""The contract as a running server serves it (GET /openapi.json): the committed openapi.yaml plus what
depends on this server, so that every request the document allows is one the server accepts and the other
way round (issue 14, defect 7): the configured limits (sketches, strokes, points, coordinates, /attribute's
strokes and removals, /enhance's steps, population, alpha and seed) as maxItems / maximum, and the loaded
model's classes as the enums of `label` and `class`.

What JSON Schema cannot say stays in the descriptions and is checked by the server: equally long rows of a
`strokes` stroke, non-decreasing times, points per sketch and per request summed over strokes, and the
strokes of a `stroke3` sketch (its pen lifts).
"""

from __future__ import annotations

import copy
from typing import Any

from service.state import ServiceState


def _non_null(prop: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional property (`anyOf: [X, null]`), or the property itself."""
    for branch in prop.get("anyOf", []):
        if branch.get("type") != "null":
            return branch
    return prop


def _limit_sketch(sketch: dict[str, Any], max_strokes: int, max_points: int, max_abs: float) -> None:
    props = sketch["properties"]
    coordinate = {"minimum": -max_abs, "maximum": max_abs}
    strokes = props["strokes"]
    strokes["maxItems"] = max_strokes
    strokes["items"]["items"]["maxItems"] = max_points  # each row: xs, ys or ts
    strokes["items"]["items"]["items"].update(coordinate)
    points = props["points"]
    points["maxItems"] = max_strokes
    points["items"]["maxItems"] = max_points
    points["items"]["items"]["items"].update(coordinate)
    stroke3 = props["stroke3"]
    stroke3["maxItems"] = max_points
    for column in stroke3["items"]["prefixItems"][:2]:
        column.update(coordinate)


def serve_limits(doc: dict[str, Any], state: ServiceState) -> None:
    """Add this server's limits and classes to the document (in place)."""
    s, schemas = state.settings, doc["components"]["schemas"]
    _limit_sketch(schemas["SketchIn"], s.max_strokes, s.max_input_points, s.max_abs_coordinate)
    schemas["ScoreRequest"]["properties"]["sketches"]["maxItems"] = s.max_sketches
    attribute_sketch = copy.deepcopy(schemas["SketchIn"])
    _limit_sketch(attribute_sketch, min(s.max_strokes, s.attribute_max_strokes), s.max_input_points,
                  s.max_abs_coordinate)
    attribute_sketch["title"] = "AttributeSketchIn"
    schemas["AttributeSketchIn"] = attribute_sketch
    schemas["AttributeRequest"]["properties"]["sketch"]["$ref"] = "#/components/schemas/AttributeSketchIn"
    _non_null(schemas["AttributeRequest"]["properties"]["max_removals"])["maximum"] = s.attribute_max_removals
    enhance = schemas["EnhanceRequest"]["properties"]
    for name, most in (("steps", s.enhance_max_steps), ("population", s.enhance_max_population),
                       ("alpha", s.enhance_max_alpha), ("seed", s.enhance_max_seed)):
        _non_null(enhance[name])["maximum"] = most
    if state.model is not None:
        _non_null(schemas["SketchIn"]["properties"]["label"])["enum"] = list(state.model.classes)
        vae_classes = state.enhancer.vae.classes if state.enhancer is not None else state.model.classes
        _non_null(enhance["class"])["enum"] = list(vae_classes)
        for param in doc["paths"].get("/v1/examples", {}).get("get", {}).get("parameters", []):
            if param["name"] == "category":
                param["schema"]["enum"] = list(state.model.classes)
