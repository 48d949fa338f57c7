"""A short sweep of the Triton peer's configuration (issue 17): model instances (1/2/4), ORT threads per instance,
the dynamic batcher's max_queue_delay and preferred batch size, each at a few load points; the best one is
kept as bench/peers/triton_server.py's defaults (bench/README.md says which and why).

Each configuration is a fresh Triton (bench/stacks.py's start_triton with extra arguments) driven alone by
bench/load.py; the configurations are run in rounds (round 2 in the reverse order) so that a change of the
machine's load does not favour one. Prints a table and the JSON (also to --out).

    python bench/triton_sweep.py --points 1x32 64x8 --duration 3 --warmup 2 --out /tmp/triton-sweep.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from run import load_sketches, log
from side_by_side import drive, parse_point, write_triton_bodies
from side_by_side_eval import point_name
from stacks import TRITON_VENV, start_triton

from sketchprep.card import ModelCard

# (instances, ORT threads per instance, max_queue_delay us, preferred batch sizes)
DEFAULT_CONFIGS = [
    "1,1,2000,64", "1,2,2000,64", "2,1,2000,64", "4,1,2000,64",
    "2,1,0,-", "2,1,500,-", "2,1,2000,-", "2,1,5000,64", "2,1,500,16 64",
]


def config_args(config: str) -> list[str]:
    """'instances,ort_threads,delay_us,preferred' (preferred: sizes separated by spaces, or - for none)."""
    instances, threads, delay, preferred = config.split(",")
    return ["--instances", instances, "--ort-threads", threads, "--max-queue-delay-us", delay,
            "--preferred-batch", *([] if preferred.strip() == "-" else preferred.split())]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=Path("models/gacl"))
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "quickdraw")
    ap.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                    help="instances,ort_threads,max_queue_delay_us,preferred_sizes (e.g. '2,1,500,16 64' or '2,1,0,-')")
    ap.add_argument("--points", nargs="+", type=parse_point, default=[(1, 32), (64, 8)])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--sketches", type=int, default=4096)
    ap.add_argument("--triton-venv", type=Path, default=TRITON_VENV)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    model_dir = args.model_dir.resolve()
    card = ModelCard.load(model_dir)
    sketches = load_sketches(args.data, card.classes, args.sketches)
    tmp = Path(tempfile.mkdtemp(prefix="sketchq-triton-sweep-"))
    bodies = {size: write_triton_bodies(tmp / f"triton-{size}.jsonl", sketches, size) for size, _ in args.points}
    rows: list[dict[str, Any]] = []
    for rnd in range(1, args.rounds + 1):
        order = args.configs if rnd % 2 else list(reversed(args.configs))
        for config in order:
            stack = start_triton(model_dir, args.triton_venv, config_args(config))
            try:
                for size, conc in args.points:
                    r = drive(stack, bodies[size], conc, args.duration, args.warmup, {"triton": stack})
                    row = {"config": config, "round": rnd, "load_point": point_name(size, conc),
                           "sketches_per_s": round(r["requests_per_s"] * size, 1), "p50_ms": r["p50_ms"],
                           "p99_ms": r["p99_ms"], "server_cpu_ms_per_request": r["server_cpu_ms_per_request"],
                           "statuses": r["statuses"]}
                    log(f"triton [{config}] {row['load_point']} r{rnd}: {row['sketches_per_s']} sketches/s "
                        f"p50={row['p50_ms']} p99={row['p99_ms']} ms")
                    rows.append(row)
            finally:
                stack.stop()
    points = [point_name(*p) for p in args.points]
    print("| instances, ORT threads, max_queue_delay us, preferred | "
          + " | ".join(f"{p} sketches/s" for p in points) + " |", file=sys.stderr)
    print("|---|" + "---|" * len(points), file=sys.stderr)
    for config in args.configs:
        cells = []
        for p in points:
            vals = [r["sketches_per_s"] for r in rows if r["config"] == config and r["load_point"] == p]
            cells.append(" / ".join(str(v) for v in vals))
        print(f"| {config} | " + " | ".join(cells) + " |", file=sys.stderr)
    text = json.dumps({"settings": vars(args) | {"model_dir": str(model_dir), "data": str(args.data),
                                                 "out": str(args.out), "triton_venv": str(args.triton_venv),
                                                 "points": points},
                       "rows": rows}, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
