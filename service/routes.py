"""HTTP routes: POST /score, POST /attribute, POST /enhance, GET /v1/model, /healthz, /readyz, /metrics."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.deps import AttributorDep, EnhancerDep, ScorerDep, StateDep
from service.disconnect import watch_disconnect
from service.errors import problem
from service.handlers import ProblemResponse
from service.metrics import CONTENT_TYPE_LATEST
from service.schemas import (
    AttributeRequest,
    AttributeResponse,
    EnhanceRequest,
    EnhanceResponse,
    Health,
    ModelInfo,
    ModelRef,
    Readiness,
    ScoreRequest,
    ScoreResponse,
)

router = APIRouter()
T = TypeVar("T")


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers (their schema is added by service.openapi)."""
    text = {400: "Malformed JSON body", 413: "Body larger than max_body_bytes", 422: "Invalid sketch or request",
            500: "Model error", 503: "Overloaded (queue full or timed out) or not ready; see Retry-After"}
    return {c: {"description": text[c], "content": {"application/problem+json": {}}} for c in codes}


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it (its queued sketches are dropped) if the client disconnects."""
    return await watch_disconnect(request.receive, work)


@router.post("/score", response_model=ScoreResponse, tags=["scoring"],
             responses=problem_responses(400, 413, 422, 500, 503))
async def score(body: ScoreRequest, request: Request, scorer: ScorerDep) -> Response:
    """Score 1 to max_sketches sketches: quality, its percentile, class probabilities, and a label check."""
    # Usually answered by service.fastpath before FastAPI routes it; this is the same answer.
    return Response(await unless_disconnected(request, scorer.score_json(body)), media_type="application/json")


@router.post("/attribute", response_model=AttributeResponse, tags=["attribution"],
             responses=problem_responses(400, 413, 422, 500, 503))
async def attribute_sketch(body: AttributeRequest, request: Request, attributor: AttributorDep) -> AttributeResponse:
    """Malicious input or rare-and-hard sketch? Greedy stroke removal guided by q (paper Sec. 4.4)."""
    return await unless_disconnected(request, attributor.attribute(body))


@router.post("/enhance", response_model=EnhanceResponse, tags=["enhancement"],
             responses=problem_responses(400, 413, 422, 500, 503))
async def enhance_sketch(body: EnhanceRequest, request: Request, enhancer: EnhancerDep) -> EnhanceResponse:
    """A better-drawn version of the sketch: an evolution strategy over a Sketch-RNN VAE's latent space with
    q as the critic (paper Sec. 3.6, Eq. 20). 503 when no VAE is installed."""
    return await unless_disconnected(request, enhancer.enhance(body))


@router.get("/v1/model", response_model=ModelInfo, tags=["model"], responses=problem_responses(503))
async def model_info(scorer: ScorerDep, state: StateDep) -> ModelInfo:
    """The loaded model: classes, version, thresholds and the execution providers in use."""
    assert state.engine is not None
    return ModelInfo(**scorer.card.public(), providers=state.engine.providers,
                     max_sketches=state.settings.max_sketches, max_batch=state.settings.max_batch)


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
    assert state.card is not None and state.engine is not None and state.batcher and state.cache
    state.metrics.ready.set(1)
    return Readiness(status="ready", providers=providers, device=state.engine.device, queue_depth=state.batcher.depth,
                     max_queue=state.settings.max_queue, cache=state.cache.backend,
                     model=ModelRef(name=state.card.name, version=state.card.version, sha256=state.card.sha256))


@router.get("/metrics", tags=["probes"], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
