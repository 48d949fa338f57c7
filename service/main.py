"""App factory and lifespan.

    uvicorn service.main:create_app --factory      # or: python -m service (adds graceful SIGTERM draining)

The app: the API's routers and the web page's, problem+json error handlers, the body limit and request
metrics middlewares, and in front of it all POST /score's fast path (service.transport.fastpath), which
does what those middlewares do itself. `create_app` refuses a middleware list the fast path does not know.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from service import __version__
from service.api.contract import build_openapi
from service.api.routers import attribute, enhance, model, probes, score
from service.core.metrics import Metrics
from service.core.problems import register_handlers
from service.core.settings import Settings
from service.state import ServiceState
from service.transport import fastpath
from service.transport.body_limit import BodyLimitMiddleware
from service.transport.envelope import Envelope
from service.transport.gate import Gate
from service.transport.request_metrics import RequestMetricsMiddleware
from service.web import page

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
    """FastAPI with POST /score's fast path in front: everything else, and every /score request the fast
    path does not answer, goes through FastAPI as usual."""

    _front: Envelope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._front is None:  # request id and headers, the gate (checks on the
            # request head), then the fast path, then FastAPI
            state = self.state.service
            self._front = Envelope(Gate(fastpath.ScoreFastPath(super().__call__, state), state))
        await self._front(scope, receive, send)


def check_fast_path_fence(app: FastAPI) -> None:
    """The fast path skips the app's middlewares and does their work itself: a middleware it does not know
    would never see POST /score. Decide (replicate it in service.transport.fastpath, or route /score
    through FastAPI), then update fastpath.REPLICATES."""
    stack = tuple(m.cls for m in app.user_middleware)
    if stack != fastpath.REPLICATES:
        names = [c.__name__ for c in stack]
        raise RuntimeError(f"the app's middlewares {names} are not the ones POST /score's fast path replicates "
                           f"{[c.__name__ for c in fastpath.REPLICATES]}: see service/transport/fastpath.py")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    docs = settings.api_docs  # Swagger UI and ReDoc load their scripts from a CDN: off unless asked for
    app = ServiceApp(title="sketchq scoring service", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                     generate_unique_id_function=lambda route: route.name,  # operationIds: score, readyz, ...
                     docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None)
    app.state.service = ServiceState(settings, metrics)
    register_handlers(app)
    for router in (score.router, attribute.router, enhance.router, model.router, probes.router):
        app.include_router(router)
    app.include_router(page.router)  # the page at / (its own CSP) and GET /v1/examples
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    paths = frozenset(r.path for r in app.routes if "{" not in getattr(r, "path", "{"))
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics, paths=paths)  # outermost: sees 413s too
    check_fast_path_fence(app)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app
