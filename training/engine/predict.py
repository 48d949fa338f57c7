"""A scorer network's outputs over many sketches: features and cosines, and the scores compared everywhere.

Scores: `q` (feature magnitude: GACL's quality score; for a softmax model its feature norm), `max_prob`
(max softmax probability at the training scale s) and `max_cos`.
"""

from __future__ import annotations

import numpy as np
import torch

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from sketchprep.strokes import Sketch
from training.data.batches import iterate_batches
from training.data.splits import SketchSet
from training.model.network import SketchQualityNet

SCORES = ("q", "max_prob", "max_cos")


@torch.no_grad()
def predict(net: SketchQualityNet, data: SketchSet, batch_size: int = 512, device: str = "cpu"):
    """-> (f (N, D), cos (N, C)) over a whole split, in order."""
    net.eval()
    fs, coss = [], []
    for x, lens, _, _ in iterate_batches(data, batch_size, shuffle=False):
        f, cos = net(x.to(device), lens.to(device))
        fs.append(f.cpu())
        coss.append(cos.cpu())
    return torch.cat(fs), torch.cat(coss)


def scores_from_outputs(f: torch.Tensor, cos: torch.Tensor, s: float) -> dict[str, np.ndarray]:
    return {"q": torch.linalg.vector_norm(f, dim=1).numpy(),
            "max_prob": torch.softmax(s * cos, dim=1).max(1).values.numpy(),
            "max_cos": cos.max(1).values.numpy(), "pred": cos.argmax(1).numpy(), "cos": cos.numpy()}


@torch.no_grad()
def score_strokes(net: SketchQualityNet, sketches: list[Sketch], pre: PreprocessConfig, s: float,
                  batch_size: int = 512) -> dict[str, np.ndarray]:
    """The scores (and pred, cos) of sketches given as strokes, preprocessed like the service does."""
    net.eval()
    fs, coss = [], []
    for i in range(0, len(sketches), batch_size):
        x, lens = collate([sketch_to_points(sk, pre) for sk in sketches[i : i + batch_size]])
        f, cos = net(torch.from_numpy(x), torch.from_numpy(lens))
        fs.append(f)
        coss.append(cos)
    return scores_from_outputs(torch.cat(fs), torch.cat(coss), s)
