"""Export a checkpoint to ONNX (dynamic batch and length) and write its model card beside it.

ONNX graph: inputs points (B, T, 7) float32 and lengths (B,) int64; outputs q (B,) float32 (feature
magnitude), cos (B, C) float32 (cosine to each class centre) and pred (B,) int64 (arg-max class).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import tyro

from sketchprep.card import ModelCard, OnnxBlock
from sketchprep.files import sha256_file
from sketchprep.preprocess import PreprocessConfig, collate
from training.engine.checkpoints import load_net
from training.engine.config import DEFAULT_DATA
from training.export.card import build_model_card
from training.model.network import ExportWrapper, SketchQualityNet

ONNX_FILE = "model.onnx"
OPSET = 18  # of every ONNX graph this package writes (the scorer's and the Sketch-RNN's)


@dataclass
class ExportArgs:
    checkpoint: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="CHECKPOINT")]
    """the checkpoint to export (runs/x/last.pt)"""
    out: str
    """output folder, e.g. models/gacl"""
    name: str
    """the model's name in its card (and in every answer of the service)"""
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    """sketch files or folders; the validation split calibrates the card's percentiles and thresholds"""
    version: str = "1"
    """the model's version in its card"""
    evaluation: str | None = None
    """evaluation.json (sketchq-train evaluate) to copy measured metrics from"""


def run_cli(args: ExportArgs) -> int:
    card = export_checkpoint(args.checkpoint, args.data, args.out, args.name, args.version, args.evaluation)
    print(json.dumps({"onnx": card.onnx.file, "sha256": card.onnx.sha256}))
    return 0


def export_onnx(net: SketchQualityNet, path: Path, max_points: int) -> None:
    """Trace with batch 3 and length max_points // 2 (never a size-1 dim) and mark both dims dynamic."""
    rng = np.random.default_rng(0)
    pts = [rng.standard_normal((n, 7)).astype(np.float32) for n in (max_points // 2, 5, 17)]
    x, lens = collate(pts)
    torch.onnx.export(
        ExportWrapper(net).eval(), (torch.from_numpy(x), torch.from_numpy(lens)), str(path),
        input_names=["points", "lengths"], output_names=["q", "cos", "pred"],
        dynamic_axes={"points": {0: "batch", 1: "length"}, "lengths": {0: "batch"},
                      "q": {0: "batch"}, "cos": {0: "batch"}, "pred": {0: "batch"}},
        opset_version=OPSET, dynamo=False,
    )


def export_checkpoint(checkpoint: str, data: list[str], out_dir: str, name: str, version: str,
                      evaluation: str | None = None) -> ModelCard:
    net, ck = load_net(checkpoint)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pre = PreprocessConfig.from_dict(ck["preprocess"])
    onnx_path = out / ONNX_FILE
    export_onnx(net, onnx_path, pre.max_points)
    metrics = json.loads(Path(evaluation).read_text())["summary"] if evaluation else {}
    onnx = OnnxBlock(file=ONNX_FILE, sha256=sha256_file(onnx_path), opset=OPSET,
                     inputs={"points": "float32 (batch, length, 7)", "lengths": "int64 (batch,)"},
                     outputs={"q": "float32 (batch,)", "cos": "float32 (batch, classes)", "pred": "int64 (batch,)"})
    card = build_model_card(net, ck, data, name, version, metrics, onnx)
    card.save(out)
    return card
