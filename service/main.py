"""App factory and lifespan.

    uvicorn service.main:create_app --factory      # or: python -m service (adds graceful SIGTERM draining)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from service import __version__, handlers, routes, web
from service.fastpath import ScoreFastPath
from service.metrics import Metrics
from service.middleware import BodyLimitMiddleware, RequestMetricsMiddleware
from service.openapi import build_openapi
from service.settings import Settings
from service.state import ServiceState

DESCRIPTION = (
    "Sketch quality scoring (GACL): POST /score answers each sketch's quality, its percentile among "
    "validation sketches of the predicted class, class probabilities and an optional label check. "
    "Every error is application/problem+json (RFC 9457)."
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.service
    await state.start()
    try:
        yield
    finally:
        await state.stop()


class ServiceApp(FastAPI):
    """FastAPI with POST /score's fast path (service.fastpath) in front: everything else, and every /score
    request the fast path does not answer, goes through FastAPI as usual."""

    _fast: ScoreFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._fast is None:
            self._fast = ScoreFastPath(super().__call__, self.state.service)
        await self._fast(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    app = ServiceApp(title="sketchq scoring service", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  generate_unique_id_function=lambda route: route.name)  # operationIds: score, readyz, ...
    app.state.service = ServiceState(settings, metrics)
    handlers.register(app)
    app.include_router(routes.router)
    app.include_router(web.router)  # the page at / (its own CSP) and GET /v1/examples
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)  # outermost: sees 413s too
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app
