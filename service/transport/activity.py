"""How many HTTP requests are being served right now, counted where uvicorn reads them.

A request counts from the moment its head has been parsed (`on_headers_complete`, before its ASGI task has
even started) until its answer is complete or its connection is lost. So a burst of requests read in one
event-loop step is seen at once, which a count kept by a middleware (inside each request's task) would
miss. The batcher computes a lone sketch on the event loop only when its request is the only one
(`service.inference.batcher`, inline_when_idle).
"""

from __future__ import annotations


class ActiveRequests:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0  # heads read, answers not complete (event loop only)

    def alone(self) -> bool:
        """At most one request (the caller's own) is being served."""
        return self.n <= 1
