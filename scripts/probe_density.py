"""Point-density probe: a circle drawn as a regular n-gon (25, 13, 9 points; 8 start points, both
directions = 16 drawings per n), scored by torch checkpoints of the scorer. Prints JSON per checkpoint and n:
the fraction called `circle`, the median q and the classes predicted (models/README.md, "Point density").

    python scripts/probe_density.py checkpoints/gacl/model.pt runs/gacl-cos-aug/last.pt
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points  # noqa: E402
from sketchprep.strokes import Sketch  # noqa: E402
from training.engine.checkpoints import load_net  # noqa: E402

POINTS = (25, 13, 9)


def polygons(n: int) -> list[Sketch]:
    out = []
    for start in range(8):
        for direction in (1, -1):
            t = start * 2 * np.pi / 8 + direction * np.linspace(0, 2 * np.pi, n + 1)
            out.append([np.stack([128 + 100 * np.cos(t), 128 + 100 * np.sin(t)], 1)])
    return out


def probe(checkpoint: str) -> list[dict]:
    net, ck = load_net(checkpoint)
    pre, classes = PreprocessConfig.from_dict(ck["preprocess"]), ck["classes"]
    rows = []
    for n in POINTS:
        x, lengths = collate([sketch_to_points(s, pre) for s in polygons(n)])
        with torch.no_grad():
            f, cos = net(torch.from_numpy(x), torch.from_numpy(lengths))  # (16, D), (16, C)
        q = torch.linalg.vector_norm(f, dim=1).numpy()
        pred = [classes[int(p)] for p in cos.argmax(1)]
        rows.append({"checkpoint": checkpoint, "points": n, "drawings": len(pred),
                     "called_circle": sum(p == "circle" for p in pred), "median_q": float(np.median(q)),
                     "classes": sorted(set(pred))})
    return rows


def main(checkpoints: list[str]) -> int:
    for c in checkpoints:
        for row in probe(c):
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
