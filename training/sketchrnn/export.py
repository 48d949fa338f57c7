"""ONNX export of the Sketch-RNN VAE for a derivative-free latent search without torch.

encoder.onnx (dynamic batch B and length T; padding invariant: rows at or after a length are never read)
    inputs   strokes5     float32 (B, T, 5)  stroke-5 rows in pixels (training.sketchrnn.data), no S0
             lengths      int64   (B,)       real rows, >= 1
    outputs  mu           float32 (B, Z)     the encoder's mean (the search's z0)

decoder.onnx (dynamic batch B; T = the `steps` the graph was unrolled for, in the card)
    inputs   z            float32 (B, Z)
             class_index  int64   (B,)       index into the card's `classes`
             temperature  float32 (B,)       0: greedy; tau > 0: Sketch-RNN's tempered sampling
             gumbel_pi    float32 (B, T, M)  standard Gumbel noise for the mixture choice
             gumbel_pen   float32 (B, T, 3)  standard Gumbel noise for the pen choice
             normal_xy    float32 (B, T, 2)  standard normal noise for the offsets
    outputs  strokes5     float32 (B, T, 5)  rows in pixels; after the sketch: (0, 0, 0, 0, 1)
             lengths      int64   (B,)       real rows (the sketch has lengths + 1 points, from the origin)

The decode is a pure function of its inputs (training.sketchrnn.decode), so the caller's seed fixes it;
sketchprep.stroke5.make_noise_numpy draws the noise. The loop is unrolled by tracing (no ONNX Loop): it
exports with the legacy exporter reliably and ONNX Runtime runs it as one static graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import torch
import tyro
from torch import nn

from sketchprep.files import sha256_file
from training.export.model import OPSET
from training.sketchrnn.decode import DecodeNoise, decode, make_noise
from training.sketchrnn.model import SketchRNN, load_model

ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
CARD_FILE = "sketchrnn_card.json"
ENCODER_INPUTS = ["strokes5", "lengths"]
DECODER_INPUTS = ["z", "class_index", "temperature", "gumbel_pi", "gumbel_pen", "normal_xy"]


@dataclass
class SketchRNNExportArgs:
    checkpoint: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="CHECKPOINT")]
    """the Sketch-RNN checkpoint (runs/x/last.pt)"""
    out: str
    """output folder, e.g. models/sketchrnn"""
    steps: int | None = None
    """decoder rows to unroll (None: the model's max_seq_len)"""


def run_cli(args: SketchRNNExportArgs) -> int:
    card = export_checkpoint(args.checkpoint, args.out, args.steps)
    print(json.dumps({"encoder": card["encoder"]["sha256"], "decoder": card["decoder"]["sha256"],
                      "decode_steps": card["decode_steps"]}))
    return 0


class EncoderExport(nn.Module):
    def __init__(self, model: SketchRNN):
        super().__init__()
        self.model = model

    def forward(self, strokes5: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mu, _ = self.model.encode(strokes5, lengths)
        return mu  # (B, Z)


class DecoderExport(nn.Module):
    def __init__(self, model: SketchRNN):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor, class_index: torch.Tensor, temperature: torch.Tensor, gumbel_pi: torch.Tensor,
                gumbel_pen: torch.Tensor, normal_xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dec = decode(self.model, z, class_index, temperature, DecodeNoise(gumbel_pi, gumbel_pen, normal_xy))
        return dec.rows, dec.lengths  # (B, T, 5), (B,)


def example_inputs(model: SketchRNN, batch: int, steps: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random inputs for tracing and parity tests (batch >= 2 so no dimension is frozen at 1)."""
    gen = torch.Generator().manual_seed(seed)
    rows = torch.randn((batch, length, 5), generator=gen) * 10.0
    pen = torch.randint(0, 2, (batch, length), generator=gen)
    rows[..., 2:5] = 0.0
    rows[..., 2] = (pen == 0).float()
    rows[..., 3] = (pen == 1).float()
    lengths = torch.randint(1, length + 1, (batch,), generator=gen)
    lengths[0] = length
    noise = make_noise(batch, steps, model.cfg.num_mixtures, gen)
    return {"strokes5": rows, "lengths": lengths,
            "z": torch.randn((batch, model.cfg.z_dim), generator=gen),
            "class_index": torch.randint(0, model.cfg.num_classes, (batch,), generator=gen),
            "temperature": torch.rand((batch,), generator=gen) * 0.5,
            "gumbel_pi": noise.gumbel_pi, "gumbel_pen": noise.gumbel_pen, "normal_xy": noise.normal_xy}


def export_encoder(model: SketchRNN, path: Path) -> None:
    ex = example_inputs(model, 3, 1, 17)
    torch.onnx.export(
        EncoderExport(model).eval(), (ex["strokes5"], ex["lengths"]), str(path),
        input_names=ENCODER_INPUTS, output_names=["mu"],
        dynamic_axes={"strokes5": {0: "batch", 1: "length"}, "lengths": {0: "batch"}, "mu": {0: "batch"}},
        opset_version=OPSET, dynamo=False,
    )


def export_decoder(model: SketchRNN, path: Path, steps: int) -> None:
    ex = example_inputs(model, 3, steps, 2)
    batch_only = {0: "batch"}
    torch.onnx.export(
        DecoderExport(model).eval(), tuple(ex[k] for k in DECODER_INPUTS), str(path),
        input_names=DECODER_INPUTS, output_names=["strokes5", "lengths"],
        dynamic_axes={**{k: batch_only for k in DECODER_INPUTS}, "strokes5": batch_only, "lengths": batch_only},
        opset_version=OPSET, dynamo=False,
    )




def export_model(model: SketchRNN, classes: list[str], out_dir: str | Path, steps: int | None = None,
                 extra: dict | None = None) -> dict:
    """Write encoder.onnx, decoder.onnx and sketchrnn_card.json into out_dir; -> the card."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    steps = steps or model.cfg.max_seq_len
    with torch.no_grad():
        export_encoder(model, out / ENCODER_FILE)
        export_decoder(model, out / DECODER_FILE, steps)
    c = model.cfg
    card = {
        "format": "sketchrnn-vae/1", "classes": classes, "offset_std": float(model.offset_std),
        "model_config": c.to_dict(), "decode_steps": steps, "opset": OPSET,
        "stroke5": "row i = point i+1 of a sketch that starts at the origin with the pen down: (dx, dy) in "
                   "pixels of the Quick, Draw! 0..255 frame, then one-hot pen: down / lifts after this point / "
                   "end of sketch (rows after the last point)",
        "encoder": {"file": ENCODER_FILE, "sha256": sha256_file(out / ENCODER_FILE),
                    "inputs": {"strokes5": "float32 (batch, length, 5)", "lengths": "int64 (batch,)"},
                    "outputs": {"mu": f"float32 (batch, {c.z_dim})"}},
        "decoder": {"file": DECODER_FILE, "sha256": sha256_file(out / DECODER_FILE),
                    "inputs": {"z": f"float32 (batch, {c.z_dim})", "class_index": "int64 (batch,)",
                               "temperature": "float32 (batch,)",
                               "gumbel_pi": f"float32 (batch, {steps}, {c.num_mixtures})",
                               "gumbel_pen": f"float32 (batch, {steps}, 3)",
                               "normal_xy": f"float32 (batch, {steps}, 2)"},
                    "outputs": {"strokes5": f"float32 (batch, {steps}, 5)", "lengths": "int64 (batch,)"}},
        **(extra or {}),
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n")
    return card


def export_checkpoint(checkpoint: str, out_dir: str, steps: int | None = None) -> dict:
    model, ck = load_model(checkpoint)
    return export_model(model, ck["classes"], out_dir, steps,
                        {"checkpoint_step": ck["step"], "best_val_loss": ck.get("best_val")})
