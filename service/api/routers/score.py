"""POST /score."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.api.contract import problem_responses
from service.api.deps import Admitted, ScorerDep, StateDep
from service.api.schemas.score import ScoreRequest, ScoreResponse
from service.transport.disconnect import watch_disconnect

router = APIRouter()


@router.post("/score", response_model=ScoreResponse, tags=["scoring"],
             responses=problem_responses(400, 401, 413, 415, 422, 429, 500, 503), dependencies=[Admitted])
async def score(body: ScoreRequest, request: Request, scorer: ScorerDep, state: StateDep) -> Response:
    """Score 1 to max_sketches sketches: quality, its percentile, class probabilities, and a label check."""
    await state.charge(len(body.sketches))
    # Usually answered by service.transport.fastpath before FastAPI routes it; this is the same answer.
    return Response(await watch_disconnect(request.receive, scorer.score_json(body)), media_type="application/json")
