"""Encoder + cosine classifier: the network shared by the softmax baseline and every GACL variant."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.model.presets import build_encoder


class SketchQualityNet(nn.Module):
    """f(x) = feature_scale * encoder(x); class centres W (C, D) compared by cosine.

    `feature_scale` is a fixed buffer (not trained): GACL fine-tuning sets it so the median training q
    starts inside [l_a, u_a] (a softmax-trained encoder has arbitrary norms; cosines do not depend on it).
    """

    def __init__(self, encoder_kind: str, encoder_config: dict, num_classes: int):
        super().__init__()
        self.encoder_kind = encoder_kind
        self.encoder_config = dict(encoder_config)
        self.encoder = build_encoder(encoder_kind, encoder_config)
        self.centres = nn.Parameter(torch.randn(num_classes, self.encoder.out_dim) * 0.05)
        self.register_buffer("feature_scale", torch.tensor(1.0))

    @property
    def num_classes(self) -> int:
        return self.centres.shape[0]

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encoder(x, lengths) * self.feature_scale  # (B, D)

    def cosines(self, f: torch.Tensor) -> torch.Tensor:
        return F.normalize(f, dim=1, eps=1e-12) @ F.normalize(self.centres, dim=1).T  # (B, C)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (f (B, D), cos (B, C))."""
        f = self.features(x, lengths)
        return f, self.cosines(f)


class ExportWrapper(nn.Module):
    """What ONNX gets: (points (B, T, 7), lengths (B,)) -> q (B,), cos (B, C), predicted class (B,)."""

    def __init__(self, net: SketchQualityNet):
        super().__init__()
        self.net = net

    def forward(self, points: torch.Tensor, lengths: torch.Tensor):
        f, cos = self.net(points, lengths)
        q = torch.linalg.vector_norm(f, dim=1)  # (B,)
        return q, cos, torch.argmax(cos, dim=1)
