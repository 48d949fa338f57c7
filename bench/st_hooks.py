"""schemathesis hooks for bench/reliability.py: what JSON Schema cannot say about a sketch, applied to every
generated body (positive and negative alike; a negative body keeps the violation it was made with).

- the rows of a `strokes` stroke are equally long: shorter rows are padded with their last value;
- a third row (times) does not decrease: it is sorted.
Neither removes a value, so a negative body keeps its schema violation.
Points per sketch and per request summed over strokes are kept under the limits by the bench server's
settings (bench/reliability.py SCHEMA_SERVER), not here.
"""

from __future__ import annotations

from typing import Any

import schemathesis


def _is_numbers(row: Any) -> bool:
    return isinstance(row, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in row)


def _fix_sketch(sketch: Any) -> None:
    if not isinstance(sketch, dict) or not isinstance(sketch.get("strokes"), list):
        return
    for stroke in sketch["strokes"]:
        if not isinstance(stroke, list) or not 2 <= len(stroke) <= 3 or not all(_is_numbers(r) for r in stroke):
            continue
        if min(len(r) for r in stroke) == 0:
            continue
        n = max(len(r) for r in stroke)
        for r in stroke:
            r.extend([r[-1]] * (n - len(r)))
        if len(stroke) == 3:
            stroke[2].sort()


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    if isinstance(body, dict):
        if isinstance(body.get("sketches"), list):
            for sketch in body["sketches"]:
                _fix_sketch(sketch)
        _fix_sketch(body.get("sketch"))
    return body
