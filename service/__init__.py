"""sketchq scoring service: FastAPI app on a micro-batching ONNX Runtime engine (see service.main)."""

__version__ = "0.1.0"
