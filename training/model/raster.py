"""Raster encoders (issue 12, the paper's Sec. 6): the sketch is drawn into a small image inside the
network and read by a 2D CNN, alone or beside the sequence encoder.

Drawing happens in the graph, from the same (B, T, 7) point features every encoder takes, so the model
exports to ONNX with the same inputs and the service needs no second preprocessing. Each pen-down segment
(point t to t+1 while the pen stays down) is sampled at `samples` evenly spaced positions, every valid
point is added too, and each sample is splatted bilinearly into a `size` x `size` grid (scatter-add); the
ink is then clipped to [0, 1] and thickened by a 3x3 max-pool. Padded positions carry weight 0, so the
image, and the features, do not depend on padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from training.model.encoders import ConvEncoder, ConvEncoderConfig


def rasterize(x: torch.Tensor, lengths: torch.Tensor, size: int, samples: int) -> torch.Tensor:
    """x (B, T, 7) point features, lengths (B,) -> ink image (B, 1, size, size) in [0, 1]."""
    b, t, _ = x.shape
    p = (x[:, :, 0:2] + 1.0) / 2.0  # (B, T, 2) positions in [0, 1] (longest side 1)
    valid = (torch.arange(t, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)  # (B, T)
    nxt = torch.cat([p[:, 1:], p[:, -1:]], dim=1)  # (B, T, 2) the following point
    # (B, T) segment t -> t+1 drawn: the pen stays down after point t and point t+1 is valid
    seg = x[:, :, 4] * torch.cat([valid[:, 1:], torch.zeros_like(valid[:, :1])], dim=1)
    s = torch.linspace(0.0, 1.0, samples, device=x.device)[None, None, :, None]  # (1, 1, S, 1)
    pts = p[:, :, None, :] + s * (nxt - p)[:, :, None, :]  # (B, T, S, 2)
    w = seg[:, :, None].expand(b, t, samples)  # (B, T, S)
    pts = torch.cat([pts.reshape(b, -1, 2), p], dim=1)  # (B, T*S + T, 2): segment samples + the points
    w = torch.cat([w.reshape(b, -1), valid], dim=1)  # (B, N)
    u = pts.clamp(0.0, 1.0) * (size - 1)  # (B, N, 2) pixel coordinates (x, y)
    u0 = torch.floor(u).clamp(max=size - 2)
    fr = u - u0  # (B, N, 2)
    i0 = u0.to(torch.int64)
    img = torch.zeros(b, size * size, device=x.device, dtype=x.dtype)
    for dx in (0, 1):
        for dy in (0, 1):
            wx = fr[:, :, 0] if dx else 1.0 - fr[:, :, 0]
            wy = fr[:, :, 1] if dy else 1.0 - fr[:, :, 1]
            idx = (i0[:, :, 1] + dy) * size + (i0[:, :, 0] + dx)  # (B, N) row-major: y, x
            img = img.scatter_add(1, idx, w * wx * wy)
    img = img.clamp(0.0, 1.0).view(b, 1, size, size)
    return F.max_pool2d(img, 3, stride=1, padding=1)  # (B, 1, H, W)


@dataclass
class RasterEncoderConfig:
    size: int = 48
    samples: int = 16
    channels: tuple[int, ...] = (32, 64, 128, 192)  # stem, then one stride-2 stage each
    out_dim: int = 256


class RasterCNN(nn.Module):
    """Small ConvNet over the rasterised sketch: (B, T, 7) -> (B, D)."""

    def __init__(self, cfg: RasterEncoderConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = [nn.Conv2d(1, cfg.channels[0], 3, padding=1), nn.BatchNorm2d(cfg.channels[0]),
                                   nn.GELU()]
        for c_in, c_out in zip(cfg.channels[:-1], cfg.channels[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.GELU(),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.GELU()]
        self.body = nn.Sequential(*layers)
        self.proj = nn.Linear(2 * cfg.channels[-1], cfg.out_dim)
        self.out_dim = cfg.out_dim

    def pooled(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.body(rasterize(x, lengths, self.cfg.size, self.cfg.samples))  # (B, C, H', W')
        return torch.cat([h.mean((2, 3)), h.amax((2, 3))], dim=1)  # (B, 2C)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.relu(self.proj(self.pooled(x, lengths)))  # (B, D)


@dataclass
class HybridEncoderConfig:
    raster: dict | None = None  # RasterEncoderConfig fields
    sequence: dict | None = None  # ConvEncoderConfig fields
    out_dim: int = 256


class HybridEncoder(nn.Module):
    """The sequence CNN and the raster CNN side by side, their features joined by one linear layer."""

    def __init__(self, cfg: HybridEncoderConfig):
        super().__init__()
        self.raster = RasterCNN(RasterEncoderConfig(**_tuples(cfg.raster or {})))
        self.sequence = ConvEncoder(ConvEncoderConfig(**_tuples(cfg.sequence or {})))
        self.proj = nn.Linear(self.raster.out_dim + self.sequence.out_dim, cfg.out_dim)
        self.out_dim = cfg.out_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        both = torch.cat([self.raster(x, lengths), self.sequence(x, lengths)], dim=1)  # (B, D_r + D_s)
        return F.relu(self.proj(both))  # (B, D)


def _tuples(cfg: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
