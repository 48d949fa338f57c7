"""Per-request values that code deep in a request reads without having them passed down: the request id
(in every log line and problem answer) and the client (an API key's id, or the client's address) that
rate limits and a per-client cache scope use. Set by service.transport.gate for each request task."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("sketchq_request_id", default=None)
client_id: ContextVar[str | None] = ContextVar("sketchq_client_id", default=None)
