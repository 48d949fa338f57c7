"""Offline training package: GACL sketch-quality encoders, evaluation and ONNX export (needs torch)."""
