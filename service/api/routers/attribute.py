"""POST /attribute."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.api.contract import problem_responses
from service.api.deps import Admitted, AttributorDep, StateDep
from service.api.schemas.attribute import AttributeRequest, AttributeResponse
from service.transport.disconnect import watch_disconnect

router = APIRouter()


@router.post("/attribute", response_model=AttributeResponse, tags=["attribution"],
             responses=problem_responses(400, 401, 413, 415, 422, 429, 500, 503), dependencies=[Admitted])
async def attribute_sketch(body: AttributeRequest, request: Request, attributor: AttributorDep,
                           state: StateDep) -> AttributeResponse:
    """Malicious input or rare-and-hard sketch? Greedy stroke removal guided by q (paper Sec. 4.4)."""
    await state.charge(attributor.cost(body))
    return await watch_disconnect(request.receive, attributor.attribute(body))
