"""One service process: the app under uvicorn, with the drain on SIGTERM.

On SIGTERM the service first fails readiness for shutdown_grace_s (so a load balancer stops sending new
requests) while still serving, then uvicorn stops accepting connections while the batcher drains: queued
sketches are computed at once, new work gets 503, in-flight requests finish, and the lifespan shutdown
runs. A second signal, or SIGINT, skips the grace period.

`serve` runs one process: on its own (`python -m service`, workers = 1) it binds host:port itself; under the
supervisor (service.supervisor, workers > 1) it serves the listening socket it is handed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn

from service.core import logs, tracing
from service.core.settings import Settings
from service.main import create_app
from service.state import ServiceState
from service.transport.http_limits import protocol_for

log = logging.getLogger("service")

GC_GEN0_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


def tune_gc() -> None:
    """Once the app is loaded: everything allocated so far (modules, the model, the app) is moved out of the
    collector's sight (gc.freeze), and young collections run every GC_GEN0_THRESHOLD allocations instead of
    700. A 64-sketch request body parses into thousands of lists, so the default triggered collections
    several times per request, each older one traversing every object of the process: py-spy put half of
    the event loop's samples in gc_collect_main at 64-sketch requests, and this cut the event loop's CPU from
    0.184 to 0.144 cores per process (2 processes, 64x8: 5,658 -> 6,054 sketches/s, bench/README.md)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: ServiceState, grace_s: float,
                 on_started: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._state = state
        self._grace_s = grace_s
        self._draining = False
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # lifespan done (model loaded), listening
            tune_gc()
            if self._on_started is not None:
                self._on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._draining or self._grace_s <= 0:
            super().handle_exit(sig, frame)
            return
        self._draining = True
        self._state.draining = True
        log.info("SIGTERM: failing readiness for %.1f s before stopping", self._grace_s)
        timer = threading.Timer(self._grace_s, super().handle_exit, (sig, frame))
        timer.daemon = True
        timer.start()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal that stopped it once it has shut down, so a clean drain would exit
        # with 143 (SIGTERM) or a KeyboardInterrupt traceback (Ctrl+C): a clean stop exits 0 instead.
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Drain the batcher while uvicorn closes the listener and waits for in-flight requests: those
        # requests wait on queued sketches, and the lifespan shutdown would only run after they finished.
        drain = asyncio.create_task(self._state.drain())
        try:
            await super().shutdown(sockets)
        finally:
            if self.force_exit:  # a second Ctrl+C: do not wait for the queue
                drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain


def serve(settings: Settings, sockets: list[socket.socket] | None = None,
          on_started: Callable[[], None] | None = None) -> None:
    """Run one service process until it is stopped (blocking). `sockets`: listening sockets to serve instead of
    binding settings.host:settings.port; `on_started`: called once the app is up and accepting."""
    log_config = logs.configure(settings.log_level, settings.log_format)
    if settings.otel_traces:
        tracing.configure()
    app = create_app(settings)
    on_block = app.state.service.metrics.rejected.labels("head_abuse").inc  # a connection refused unread
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                            log_config=log_config,
                            access_log=False, timeout_graceful_shutdown=int(settings.request_timeout_s) + 1,
                            http=protocol_for(settings, on_block, app.state.service.http_active), server_header=False,
                            proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)
    DrainingServer(config, app.state.service, settings.shutdown_grace_s, on_started).run(sockets)
