"""Where a request's CPU goes, rung by rung (issue 17): the server's CPU per request under the same closed-loop
load (bench/load.py) for three servers on the same HTTP stack, one process per core:

1. `floor`: bench/peers/http_floor_server.py, uvicorn + uvloop + httptools answering a fixed /score-shaped JSON
   (what any server on this stack spends);
2. `sketchq-hits`: `python -m service` with the in-process cache, every sketch a hit after the warm-up
   (sketchq's request path: validation, preprocessing, cache keys, the answer, metrics; no model);
3. `sketchq`: `python -m service` with the cache off (the side-by-side benchmark's setting: the request path
   plus the batcher and ONNX Runtime).

Each rung minus the one before is what that layer adds. The engine's own CPU per sketch at each batch size
(bench/run.py's ceiling: ONNX Runtime in process, one thread in each of 2 workers, 2 cores / sketches per
second) is measured first. Rounds alternate the servers; the JSON gives every round.

    python bench/request_ladder.py --points 1x32 64x8 --rounds 2 --out bench/results-request-ladder.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from run import load_sketches, log, measure_ceiling, training_running, write_bodies
from side_by_side import drive, parse_point
from side_by_side_eval import point_name
from stacks import BENCH, Stack, start_floor, start_sketchq

from sketchprep.card import ModelCard

RUNGS = ("floor", "sketchq-hits", "sketchq")


def start_rung(name: str, model_dir: Path, workers: int) -> Stack:
    if name == "floor":
        return start_floor(workers)
    stack = start_sketchq(model_dir, max_queue=8192, workers=workers,
                          cache="memory" if name == "sketchq-hits" else "off")
    stack.name = name
    return stack


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=Path("models/gacl"))
    ap.add_argument("--data", type=Path, default=BENCH.parent.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--points", nargs="+", type=parse_point, default=[parse_point("1x32"), parse_point("64x8")])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=float, default=4.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--sketches", type=int, default=4096)
    ap.add_argument("--workers", type=int, default=2, help="server processes (sketchq: one engine thread each)")
    ap.add_argument("--ceiling-seconds", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    card = ModelCard.load(args.model_dir)
    sketches = load_sketches(args.data, card.classes, args.sketches)
    tmp = Path(tempfile.mkdtemp(prefix="sketchq-ladder-"))
    bodies = {size: write_bodies(tmp / f"score-{size}.jsonl", sketches, size) for size, _ in args.points}
    result: dict[str, Any] = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
                              "training_job_running_at_start": training_running(), "runs": []}
    ceiling = measure_ceiling(args.model_dir, sketches, args.ceiling_seconds, 1)
    result["engine_cpu_ms_per_sketch"] = {  # the in-process engine on both cores (1 ORT thread x 2 workers)
        str(r["batch"]): round(2000 / r["sketches_per_s"], 4) for r in ceiling["all"]
        if (r["intra_op_threads"], r["workers"]) == (1, 2)}
    stacks = {name: start_rung(name, args.model_dir, args.workers) for name in RUNGS}
    try:
        for rnd in range(1, args.rounds + 1):
            order = RUNGS if rnd % 2 else tuple(reversed(RUNGS))
            for size, conc in args.points:
                for name in order:
                    r = drive(stacks[name], bodies[size], conc, args.duration, args.warmup, stacks)
                    row = {"rung": name, "round": rnd, "load_point": point_name(size, conc),
                           "requests_per_s": r["requests_per_s"], "p50_ms": r["p50_ms"],
                           "server_cpu_ms_per_request": r["server_cpu_ms_per_request"],
                           "server_cpu_cores": r["server_cpu_cores"],
                           "client_cpu_ms_per_request": r["client_cpu_ms_per_request"], "statuses": r["statuses"]}
                    log(json.dumps(row))
                    result["runs"].append(row)
    finally:
        for stack in stacks.values():
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    summary: dict[str, dict[str, list[float]]] = {}
    for row in result["runs"]:
        summary.setdefault(row["load_point"], {}).setdefault(row["rung"], []).append(row["server_cpu_ms_per_request"])
    result["server_cpu_ms_per_request_mean"] = {
        p: {k: round(sum(v) / len(v), 4) for k, v in rungs.items()} for p, rungs in summary.items()}
    result["training_job_running_at_end"] = training_running()
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
