"""GET /v1/model: the loaded model, its thresholds and the execution providers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str
    sha256: str
    classes: list[str]
    probability_scale: float
    preprocess: dict[str, Any]
    thresholds: dict[str, Any]
    metrics: dict[str, Any]
    providers: list[str] = Field(description="ONNX Runtime execution providers in use")
    max_sketches: int
    max_batch: int
