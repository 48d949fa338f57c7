"""Pictures of the degradation ranking's damage kinds (training/losses/degrade.py): real validation drawings, each
next to one damaged copy of every kind, made by the same `degrade_batch` call and with the same ranges as training
(TrainConfig's defaults). For the study write-up (docs/results/agreement.md).

    python scripts/damage_examples.py --out docs/results/agreement/damage_kinds.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from sketchprep.split import split_of
from training.data.splits import read_classes
from training.engine.config import DEFAULT_DATA, TrainConfig
from training.losses.degrade import KINDS, degrade_batch
from training.losses.stroke_damage import points_to_strokes
from training.plots import plot_sketch_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--categories", nargs="+", default=["triangle", "cat", "alarm_clock", "owl", "pig", "butterfly"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    cfg, pre = TrainConfig(), PreprocessConfig()
    classes, records = read_classes([args.data], args.categories, max_per_class=1, seed=args.seed)
    by_class = {r.category: r for r in records if split_of(r.strokes) == "val"}  # one validation drawing each
    points = [sketch_to_points(by_class[c].strokes, pre) for c in classes]
    x, lengths = (torch.from_numpy(a) for a in collate(points))  # (S, T, 7), (S,)
    rng, gen = np.random.default_rng(args.seed), torch.Generator().manual_seed(args.seed)
    copies = {}
    for kind in KINDS:  # every drawing damaged by this kind (degrade_batch gives each kind a part of the batch)
        out, new_lengths, _ = degrade_batch(x, lengths, x, lengths, pre, (kind,), (cfg.rank_jitter_min,
                                            cfg.rank_jitter_max), (cfg.rank_drop_min, cfg.rank_drop_max), rng, gen,
                                            (cfg.rank_prefix_min, cfg.rank_prefix_max))
        copies[kind] = [points_to_strokes(out[k, : int(new_lengths[k])].numpy()) for k in range(len(points))]
    items = []
    for k, c in enumerate(classes):
        items.append((points_to_strokes(points[k]), None, f"{c}: as drawn"))
        items += [(copies[kind][k], None, kind) for kind in KINDS]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_sketch_grid(items, args.out, cols=len(KINDS) + 1)
    print(args.out)


if __name__ == "__main__":
    main()
