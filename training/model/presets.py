"""The encoder presets (`--preset`) and the one place an encoder is built from its kind and config."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from torch import nn

from training.model.encoders import BiLSTMEncoder, BiLSTMEncoderConfig, ConvEncoder, ConvEncoderConfig
from training.model.raster import HybridEncoder, HybridEncoderConfig, RasterCNN, RasterEncoderConfig


@dataclass
class EncoderSpec:
    kind: str
    config: dict = field(default_factory=dict)


ENCODER_PRESETS: dict[str, EncoderSpec] = {
    # compact: 0.89M parameters, the shipped scorer's encoder
    "conv-compact": EncoderSpec("conv", asdict(ConvEncoderConfig())),
    # the paper's configuration (2 x 1024 BiLSTM, FC 2048 -> 1024): GPU scale
    "bilstm-paper": EncoderSpec("bilstm", asdict(BiLSTMEncoderConfig())),
    # a small BiLSTM for CPU experiments and tests (the pilot's design: 2 x 128, the paper's input 5)
    "bilstm-small": EncoderSpec("bilstm", asdict(BiLSTMEncoderConfig(hidden=128, out_dim=256))),
    # the encoder-design study (scripts/encoder_study.sh): the same two encoders with and without the offsets
    "bilstm-small-offsets": EncoderSpec("bilstm", asdict(BiLSTMEncoderConfig(hidden=128, out_dim=256,
                                                                          input_features=tuple(range(7))))),
    "conv-compact-abs": EncoderSpec("conv", asdict(ConvEncoderConfig(input_features=(0, 1, 4, 5, 6)))),
    # issue 12: conv-compact with every stage wider (2.2x the parameters: 1.99M): does capacity move GACL-Mul's trade?
    "conv-wide": EncoderSpec("conv", asdict(ConvEncoderConfig(stem_channels=64, stages=(64, 128, 256)))),
    # issue 12: the sketch drawn into a 48 x 48 image in the graph and read by a small 2D CNN, alone or
    # beside conv-compact (training/model/raster.py)
    "raster-small": EncoderSpec("raster", {"size": 48, "samples": 16, "channels": (32, 64, 128, 192),
                                           "out_dim": 256}),
    "hybrid-small": EncoderSpec("hybrid", {"raster": {"size": 48, "samples": 16, "channels": (24, 48, 96, 160),
                                                      "out_dim": 256},
                                           "sequence": asdict(ConvEncoderConfig()), "out_dim": 256}),
}


def build_encoder(kind: str, config: dict) -> nn.Module:
    cfg = dict(config)
    for k, v in cfg.items():
        if isinstance(v, list):
            cfg[k] = tuple(v)
    if kind == "conv":
        return ConvEncoder(ConvEncoderConfig(**cfg))
    if kind == "bilstm":
        return BiLSTMEncoder(BiLSTMEncoderConfig(**cfg))
    if kind in ("raster", "hybrid"):
        return RasterCNN(RasterEncoderConfig(**cfg)) if kind == "raster" else HybridEncoder(HybridEncoderConfig(**cfg))
    raise ValueError(f"unknown encoder kind {kind!r}")
