"""Execution providers: which ONNX Runtime providers a session asks for, given the device setting.

With device=auto the CUDA execution provider goes first when this onnxruntime build offers it (the
`onnxruntime-gpu` package), CPU otherwise; device=cuda insists on CUDA. ORT silently falls back to the CPU
when the CUDA libraries fail to load, so the engine reads back the providers in use and reports those.
"""

from __future__ import annotations

from typing import Any

from service.core.errors import ModelLoadError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def select_providers(device: str, available: list[str], cuda_device_id: int = 0) -> list[Any]:
    """Providers to ask ORT for, in order; raises ModelLoadError when device=cuda cannot be honoured."""
    cuda_ok = CUDA in available
    if device == "cuda" and not cuda_ok:
        raise ModelLoadError(f"device=cuda but this onnxruntime offers only {available}; "
                             "install the serve-gpu extra (onnxruntime-gpu) instead of onnxruntime")
    if device in ("cuda", "auto") and cuda_ok:
        # HEURISTIC: no exhaustive cuDNN search for every new (batch, length) shape at run time.
        options = {"device_id": cuda_device_id, "cudnn_conv_algo_search": "HEURISTIC"}
        return [(CUDA, options), CPU]
    return [CPU]
