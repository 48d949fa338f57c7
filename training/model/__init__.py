"""The scorer network: sequence and raster encoders, their presets, encoder + cosine classifier."""

from training.model.network import SketchQualityNet
from training.model.presets import ENCODER_PRESETS, build_encoder

__all__ = ["ENCODER_PRESETS", "SketchQualityNet", "build_encoder"]
