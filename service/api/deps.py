"""FastAPI dependencies: the app's state and its scorer, looked up per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from service.core.errors import FeatureUnavailableError, ShuttingDownError
from service.ops.attribution import Attributor
from service.ops.enhancement import Enhancer
from service.ops.scoring import Scorer
from service.state import ServiceState


# async on purpose: FastAPI runs plain `def` dependencies in a thread pool, a costly hop per request.
async def get_state(request: Request) -> ServiceState:
    return request.app.state.service


StateDep = Annotated[ServiceState, Depends(get_state)]


def _not_serving(state: ServiceState) -> ShuttingDownError:
    return ShuttingDownError("the service is not serving (starting or stopped)", state.settings.retry_after_s)


async def get_scorer(state: StateDep) -> Scorer:
    if state.scorer is None:  # while draining it still serves: only readiness fails
        raise _not_serving(state)
    return state.scorer


ScorerDep = Annotated[Scorer, Depends(get_scorer)]


async def get_attributor(state: StateDep) -> Attributor:
    if state.attributor is None:
        raise _not_serving(state)
    return state.attributor


AttributorDep = Annotated[Attributor, Depends(get_attributor)]


async def get_enhancer(state: StateDep) -> Enhancer:
    if state.scorer is None:
        raise _not_serving(state)
    if state.enhancer is None:
        # (where it was looked for is in the start-up log, not in answers)
        raise FeatureUnavailableError("the enhancement model is not installed on this server",
                                      state.settings.retry_after_s)
    return state.enhancer


EnhancerDep = Annotated[Enhancer, Depends(get_enhancer)]


async def admit(state: StateDep) -> AsyncIterator[None]:
    """A work route's admission (its body has been read): 503 once the drain has begun; otherwise the
    request counts as in flight, and the drain waits for it, until its answer is ready."""
    with state.admitted():
        yield


Admitted = Depends(admit)
