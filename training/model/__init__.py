from training.model.encoders import ENCODER_PRESETS, build_encoder
from training.model.network import SketchQualityNet

__all__ = ["ENCODER_PRESETS", "SketchQualityNet", "build_encoder"]
