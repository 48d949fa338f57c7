"""Sketch encoders f(x): (B, T, 7) padded point features + lengths (B,) -> features (B, D), D = out_dim.

Both encoders are padding invariant: positions at or after a sketch's length never influence its
features (masked convolutions / per-sequence reversal), so a sketch scored alone and inside a batch
padded to a longer length gives the same result. That is what makes server-side batching correct.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def length_mask(lengths: torch.Tensor, t: int) -> torch.Tensor:
    """(B,) lengths -> (B, 1, T) float mask, 1 at valid positions."""
    pos = torch.arange(t, device=lengths.device)
    return (pos[None, :] < lengths[:, None]).to(torch.float32).unsqueeze(1)


class ChannelNorm(nn.Module):
    """LayerNorm over channels at each position of a (B, C, T) tensor."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class MaskedResBlock(nn.Module):
    """Pre-norm residual block of two masked 'same' convolutions."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.norm1 = ChannelNorm(channels)
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation)
        self.norm2 = ChannelNorm(channels)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # x (B, C, T), mask (B, 1, T)
        y = self.conv1(F.gelu(self.norm1(x)) * mask)
        y = self.conv2(F.gelu(self.norm2(y)) * mask)
        return (x + y) * mask


@dataclass
class ConvEncoderConfig:
    in_channels: int = 7
    input_features: tuple[int, ...] | None = None  # a subset of the 7 features; None: all, in order
    stem_channels: int = 48
    stages: tuple[int, ...] = (48, 96, 160)
    blocks_per_stage: int = 2
    kernel: int = 5
    dilations: tuple[int, ...] = (1, 2)
    out_dim: int = 256


class ConvEncoder(nn.Module):
    """Compact masked residual 1D-CNN (trains on a 2-core CPU in minutes per epoch)."""

    def __init__(self, cfg: ConvEncoderConfig):
        super().__init__()
        self.cfg = cfg
        features = cfg.input_features
        # None keeps the graph of the models exported before input_features existed (no selection op)
        self.register_buffer("feature_index", None if features is None else torch.tensor(features),
                             persistent=False)
        d_in = cfg.in_channels if features is None else len(features)
        self.stem = nn.Conv1d(d_in, cfg.stem_channels, cfg.kernel, padding=cfg.kernel // 2)
        self.downs = nn.ModuleList()
        self.stages = nn.ModuleList()
        c_prev = cfg.stem_channels
        for i, c in enumerate(cfg.stages):
            # stride 2 between stages (kernel 3, pad 1: output length ceil(T / 2)); a 1x1 conv otherwise
            self.downs.append(nn.Conv1d(c_prev, c, 3, stride=2, padding=1) if i > 0 else nn.Conv1d(c_prev, c, 1))
            blocks = [MaskedResBlock(c, cfg.kernel, cfg.dilations[b % len(cfg.dilations)])
                      for b in range(cfg.blocks_per_stage)]
            self.stages.append(nn.ModuleList(blocks))
            c_prev = c
        self.final_norm = ChannelNorm(c_prev)
        self.proj = nn.Linear(2 * c_prev, cfg.out_dim)
        self.out_dim = cfg.out_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.feature_index is not None:
            x = torch.index_select(x, 2, self.feature_index)  # (B, T, F)
        x = x.transpose(1, 2)  # (B, F, T), F = 7 unless input_features is set
        mask = length_mask(lengths, x.shape[-1])  # (B, 1, T)
        h = self.stem(x * mask) * mask  # (B, C0, T)
        for i, (down, blocks) in enumerate(zip(self.downs, self.stages, strict=True)):
            if i > 0:
                lengths = torch.div(lengths + 1, 2, rounding_mode="floor")
                h = down(h)  # (B, C_i, ceil(T/2))
                mask = length_mask(lengths, h.shape[-1])
                h = h * mask
            else:
                h = down(h) * mask
            for block in blocks:
                h = block(h, mask)
        h = self.final_norm(h) * mask  # (B, C, T')
        mean = h.sum(-1) / mask.sum(-1)  # (B, C)
        mx = (h + (mask - 1.0) * 1e4).amax(-1)  # (B, C), padded positions pushed to -1e4
        return F.relu(self.proj(torch.cat([mean, mx], dim=1)))  # (B, D)


@dataclass
class BiLSTMEncoderConfig:
    input_features: tuple[int, ...] = (0, 1, 4, 5, 6)  # x, y and the pen one-hot: the paper's input 5
    hidden: int = 1024
    layers: int = 2
    out_dim: int = 1024


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each (T, C) sequence of x (B, T, C) inside its length; padding stays at the end."""
    t = x.shape[1]
    pos = torch.arange(t, device=x.device)[None, :]  # (1, T)
    idx = torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)  # (B, T)
    return torch.gather(x, 1, idx[:, :, None].expand(-1, -1, x.shape[2]))


class BiLSTMEncoder(nn.Module):
    """The paper's encoder: stacked bidirectional LSTM, f = ReLU(FC(final fwd state ++ final bwd state)).

    The backward direction runs on each sequence reversed within its own length, so its final state has
    seen the whole sketch (not the one point that the output at the last step would have seen), and
    padding is never read. No pack_padded_sequence, so it exports to ONNX with dynamic length.
    """

    def __init__(self, cfg: BiLSTMEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("feature_index", torch.tensor(cfg.input_features), persistent=False)
        self.fwd = nn.ModuleList()
        self.bwd = nn.ModuleList()
        d_in = len(cfg.input_features)
        for _ in range(cfg.layers):
            self.fwd.append(nn.LSTM(d_in, cfg.hidden, batch_first=True))
            self.bwd.append(nn.LSTM(d_in, cfg.hidden, batch_first=True))
            d_in = 2 * cfg.hidden
        self.fc = nn.Linear(2 * cfg.hidden, cfg.out_dim)
        self.out_dim = cfg.out_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = torch.index_select(x, 2, self.feature_index)  # (B, T, 5)
        for fwd, bwd in zip(self.fwd, self.bwd, strict=True):
            out_f, _ = fwd(h)  # (B, T, H)
            out_b, _ = bwd(reverse_within_length(h, lengths))  # (B, T, H), reversed time
            h = torch.cat([out_f, reverse_within_length(out_b, lengths)], dim=2)  # (B, T, 2H)
        last = (lengths - 1)[:, None, None].expand(-1, 1, self.cfg.hidden)  # (B, 1, H)
        h_f = torch.gather(out_f, 1, last)[:, 0]  # (B, H) forward state after the last point
        h_b = torch.gather(out_b, 1, last)[:, 0]  # (B, H) backward state after the first point
        return F.relu(self.fc(torch.cat([h_f, h_b], dim=1)))  # (B, D)
