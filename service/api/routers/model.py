"""GET /v1/model."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.contract import problem_responses
from service.api.deps import ScorerDep, StateDep
from service.api.schemas.model import ModelInfo

router = APIRouter()


@router.get("/v1/model", response_model=ModelInfo, tags=["model"], responses=problem_responses(503))
async def model_info(scorer: ScorerDep, state: StateDep) -> ModelInfo:
    """The loaded model: classes, version, thresholds and the execution providers in use (the attribution
    rule's internals only when the operator sets SKETCHQ_EXPOSE_INTERNALS)."""
    assert state.engine is not None
    return ModelInfo(**scorer.model.public(state.settings.expose_internals), providers=state.engine.providers,
                     max_sketches=state.settings.max_sketches, max_batch=state.settings.max_batch)
