"""POST /score bodies decoded by msgspec for the hot path (service.transport.fastpath): a twin of ScoreRequest
that accepts only its usual shape and costs a quarter of pydantic's validation.

The usual shape: sketches in the Quick, Draw! `strokes` format with two rows (xs, ys) per stroke, an optional
label, an optional integer top_k. Everything this decoder accepts, ScoreRequest accepts too, with the same
values (tests/service/test_score_fast.py checks both on real and on malformed bodies); anything else (time
rows, `points` or `stroke3`, 3.0 as top_k, an unknown field, a stroke whose rows differ in length, any error)
gives None, and the caller validates the body with ScoreRequest, whose error messages are the contract's.
Rules msgspec cannot state are checked after decoding (`_rows_equal`).

The decoded objects answer the attributes the scoring code reads from ScoreRequest and SketchIn (`sketches`,
`top_k`; `strokes`, `points`, `stroke3`, `label`), so `ScoreBody` is either.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from service.api.schemas.common import LABEL_MAX_LENGTH, TOP_K_MAX, SketchIn
from service.api.schemas.score import TOP_K_DEFAULT, ScoreRequest

Row = Annotated[list[float], msgspec.Meta(min_length=1)]  # the xs or the ys of one stroke (JSON numbers only)
Stroke = Annotated[list[Row], msgspec.Meta(min_length=2, max_length=2)]  # [xs, ys]; time rows go to pydantic


class FastSketch(msgspec.Struct, forbid_unknown_fields=True):
    strokes: Annotated[list[Stroke], msgspec.Meta(min_length=1)]
    label: Annotated[str, msgspec.Meta(max_length=LABEL_MAX_LENGTH)] | None = None
    points: ClassVar[None] = None  # the other wire formats are SketchIn's
    stroke3: ClassVar[None] = None


class FastScoreRequest(msgspec.Struct, forbid_unknown_fields=True):
    sketches: Annotated[list[FastSketch], msgspec.Meta(min_length=1)]
    top_k: Annotated[int, msgspec.Meta(ge=1, le=TOP_K_MAX)] = TOP_K_DEFAULT


ScoreBody = ScoreRequest | FastScoreRequest  # what the scoring code takes
SketchBody = SketchIn | FastSketch

_decoder = msgspec.json.Decoder(FastScoreRequest)


def _rows_equal(req: FastScoreRequest) -> bool:
    """Every stroke's xs and ys equally long (SketchIn's rule)."""
    return all(len(xs) == len(ys) for sketch in req.sketches for xs, ys in sketch.strokes)


def decode_score(body: bytes) -> FastScoreRequest | None:
    """A POST /score body -> the request, or None where it is not the usual shape or not valid (the caller then
    validates it with ScoreRequest)."""
    try:
        req = _decoder.decode(body)
    except msgspec.MsgspecError:
        return None
    return req if _rows_equal(req) else None
