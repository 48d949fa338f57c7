"""GET /healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from service.api.contract import problem_responses
from service.api.deps import StateDep
from service.api.schemas.common import ModelRef
from service.api.schemas.probes import Health, Readiness
from service.core.errors import problem
from service.core.metrics import CONTENT_TYPE_LATEST
from service.core.problems import ProblemResponse

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["probes"])
async def healthz() -> Health:
    """Liveness: the process answers (no dependencies checked)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, tags=["probes"], responses=problem_responses(503))
async def readyz(state: StateDep) -> Response | Readiness:
    """Readiness: model loaded and warmed, batcher running, queue below its limit, not draining."""
    reasons = state.not_ready_reasons()
    providers = state.engine.providers if state.engine else []
    if reasons:
        state.metrics.ready.set(0)
        body = problem(503, "Not ready", "; ".join(reasons), "urn:sketchq:problem:not-ready", providers=providers)
        return ProblemResponse(body, status_code=503, headers={"Retry-After": str(state.settings.retry_after_s)})
    assert state.model is not None and state.engine is not None and state.batcher and state.cache
    state.metrics.ready.set(1)
    return Readiness(status="ready", providers=providers, device=state.engine.device, queue_depth=state.batcher.depth,
                     max_queue=state.settings.max_queue, cache=state.cache.backend,
                     model=ModelRef(name=state.model.name, version=state.model.version, sha256=state.model.sha256))


@router.get("/metrics", tags=["probes"], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
