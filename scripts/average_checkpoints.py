"""The mean of several scorer checkpoints' weights (training.engine.checkpoints.average_checkpoints): a checkpoint
`sketchq-train evaluate` and `export` read like any other.

    python scripts/average_checkpoints.py runs/study/full-mul-oe-s3/epoch_00{6,7,8,9}.pt \
        --out runs/study/swa-oe-s3/last.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.engine.checkpoints import average_checkpoints, save_checkpoint


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, **average_checkpoints(args.checkpoints))
    print(f"{args.out}: the mean of {len(args.checkpoints)} checkpoints")


if __name__ == "__main__":
    main()
