"""GET /healthz and /readyz."""

from __future__ import annotations

from pydantic import BaseModel

from service.api.schemas.common import ModelRef


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    providers: list[str]
    device: str
    queue_depth: int
    max_queue: int
    cache: str
    model: ModelRef
