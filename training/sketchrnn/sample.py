"""Sampling with temperature: from the prior ("unconditional": z ~ N(0, I), a class) or from an encoded
sketch ("conditional": z = the encoder's mean, the sketch's class), and grids of samples per class."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import tyro

from sketchprep.stroke5 import stroke5_to_strokes
from sketchprep.strokes import Sketch
from training.engine.checkpoints import METRICS_FILE
from training.plots import plot_loss_curves, plot_sketch_grid
from training.sketchrnn.decode import Decoded, decode, make_noise
from training.sketchrnn.model import SketchRNN, load_model


@dataclass
class SampleArgs:
    checkpoint: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="CHECKPOINT")]
    """the Sketch-RNN checkpoint (runs/x/last.pt)"""
    out: str
    """PNG file of the grid of samples, one row per class"""
    per_class: int = 6
    """samples per class"""
    temperature: float = 0.4
    """sampling temperature (0: greedy)"""
    seed: int = 0
    """seed of z and the decoding noise"""
    curves: str | None = None
    """also plot the run's loss curves (its metrics.jsonl) to this PNG"""


def run_cli(args: SampleArgs) -> int:
    model, ck = load_model(args.checkpoint)
    sample_grid(model, ck["classes"], Path(args.out), args.per_class, args.temperature, args.seed)
    if args.curves:
        plot_loss_curves(Path(args.checkpoint).parent / METRICS_FILE, Path(args.curves))
    print(json.dumps({"png": args.out, "curves": args.curves, "step": ck["step"]}))
    return 0


@torch.no_grad()
def decode_z(model: SketchRNN, z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.4,
             steps: int | None = None, seed: int = 0) -> Decoded:
    """z (B, Z), labels (B,) -> Decoded (rows (B, T, 5) pixels); T = steps or the model's max_seq_len."""
    steps = steps or model.cfg.max_seq_len
    gen = torch.Generator().manual_seed(seed)
    noise = make_noise(len(z), steps, model.cfg.num_mixtures, gen).to(z.device)
    return decode(model, z, labels, torch.full((len(z),), float(temperature), device=z.device), noise)


def to_sketches(dec: Decoded) -> list[Sketch]:
    rows, lengths = dec.rows.cpu().numpy(), dec.lengths.cpu().numpy()
    return [stroke5_to_strokes(r, int(n)) for r, n in zip(rows, lengths, strict=True)]


@torch.no_grad()
def sample_prior(model: SketchRNN, labels: torch.Tensor, temperature: float = 0.4, seed: int = 0,
                 steps: int | None = None) -> list[Sketch]:
    """One sketch per label (B,) from z ~ N(0, I)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn((len(labels), model.cfg.z_dim), generator=gen).to(labels.device)
    return to_sketches(decode_z(model, z, labels, temperature, steps, seed + 1))


@torch.no_grad()
def reconstruct(model: SketchRNN, x: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor,
                temperature: float = 0.0, seed: int = 0, steps: int | None = None) -> list[Sketch]:
    """Encode x (B, T, 5) pixel rows, decode from the mean z."""
    mu, _ = model.encode(x, lengths)
    return to_sketches(decode_z(model, mu, labels, temperature, steps, seed))


def sample_grid(model: SketchRNN, classes: list[str], path: Path, per_class: int = 6,
                temperature: float = 0.4, seed: int = 0) -> None:
    """PNG with one row per class of `per_class` prior samples."""
    labels = torch.arange(len(classes)).repeat_interleave(per_class)
    sketches = sample_prior(model, labels, temperature, seed)
    items = [(s, None, classes[int(c)] if i % per_class == 0 else "")
             for i, (s, c) in enumerate(zip(sketches, labels, strict=True))]
    plot_sketch_grid(items, path, cols=per_class)


def sketch_is_valid(s: Sketch) -> bool:
    return len(s) > 0 and all(np.isfinite(p).all() and p.ndim == 2 and p.shape[1] == 2 for p in s)
