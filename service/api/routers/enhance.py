"""POST /enhance."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.api.contract import problem_responses
from service.api.deps import Admitted, EnhancerDep, StateDep
from service.api.schemas.enhance import EnhanceRequest, EnhanceResponse
from service.transport.disconnect import watch_disconnect

router = APIRouter()


@router.post("/enhance", response_model=EnhanceResponse, tags=["enhancement"],
             responses=problem_responses(400, 401, 413, 415, 422, 429, 500, 503), dependencies=[Admitted])
async def enhance_sketch(body: EnhanceRequest, request: Request, enhancer: EnhancerDep,
                         state: StateDep) -> EnhanceResponse:
    """A better-drawn version of the sketch: an evolution strategy over a Sketch-RNN VAE's latent space with
    q as the critic (paper Sec. 3.6, Eq. 20). 503 when no VAE is installed."""
    await state.charge(enhancer.cost(body))
    return await watch_disconnect(request.receive, enhancer.enhance(body))
