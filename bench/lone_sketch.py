"""What a lone sketch costs the engine, and why sketchq computes it the way it does (issue 17, the 1x1 point).

On real sketches of the data, ONNX Runtime alone, in process, one sketch a run:
- the model run padded to the sketch's length bucket (as sketchq does: the batcher's shapes) against the run at
  the sketch's own length (as a server that pads each request to its longest sketch does for one sketch): wall
  and CPU milliseconds a run, and how many sketches get bit-identical outputs both ways;
- one intra-op thread (sketchq's engine) against two, with ORT's spinning off and on (the naive peer runs ORT's
  defaults: two threads here, spinning on): milliseconds a run, and whether the outputs are bit-identical.

sketchq pads to the bucket and keeps one thread so that a sketch's numbers never depend on what it was batched
with; this measures what that costs at concurrency 1. Prints JSON.

    python bench/lone_sketch.py --sketches 200 --rounds 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from service.core.settings import Settings  # noqa: E402
from sketchprep.card import ModelCard  # noqa: E402
from sketchprep.formats import read_ndjson  # noqa: E402
from sketchprep.preprocess import collate, sketch_to_points  # noqa: E402

CATEGORIES = ("cat", "dog", "eye", "owl", "ant", "alarm_clock", "bird", "radio")


def session(model: Path, threads: int, spinning: bool) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


def timed(sess: ort.InferenceSession, inputs: list[tuple[np.ndarray, np.ndarray]], rounds: int
          ) -> tuple[dict[str, float], list[list[np.ndarray]]]:
    """Best round's wall and CPU ms per run, and the outputs of the last round."""
    for x, n in inputs[:20]:  # warm-up: first runs of a shape allocate
        sess.run(None, {"points": x, "lengths": n})
    best_wall = best_cpu = float("inf")
    outs: list[list[np.ndarray]] = []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        outs = [sess.run(None, {"points": x, "lengths": n}) for x, n in inputs]
        best_wall = min(best_wall, (time.perf_counter() - wall) / len(inputs) * 1e3)
        best_cpu = min(best_cpu, (time.process_time() - cpu) / len(inputs) * 1e3)
    return {"wall_ms_per_run": round(best_wall, 3), "cpu_ms_per_run": round(best_cpu, 3)}, outs


def identical(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> int:
    return sum(all(np.array_equal(u, v) for u, v in zip(x, y, strict=True)) for x, y in zip(a, b, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=REPO / "models" / "gacl")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--sketches", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    card = ModelCard.load(args.model_dir)
    cfg = card.preprocess.config()
    buckets = Settings(model_dir=args.model_dir).buckets_for(cfg.max_points)
    per_category = -(-args.sketches // len(CATEGORIES))
    records = [r for c in CATEGORIES for r in itertools.islice(read_ndjson(args.data / f"{c}.ndjson.gz"), per_category)]
    points = [sketch_to_points(r.strokes, cfg) for r in records[:args.sketches]]  # (T_i, 7) each
    at_bucket = [collate([p], next(b for b in buckets if b >= len(p))) for p in points]  # (1, bucket, 7)
    at_length = [collate([p], len(p)) for p in points]  # (1, T_i, 7)
    model = card.onnx_path(args.model_dir)

    one = session(model, 1, False)
    bucket_time, bucket_out = timed(one, at_bucket, args.rounds)
    length_time, length_out = timed(one, at_length, args.rounds)
    threads = {}
    for name, (n, spin) in {"2 threads, spinning off": (2, False), "2 threads, spinning on": (2, True)}.items():
        t, out = timed(session(model, n, spin), at_bucket, args.rounds)
        threads[name] = t | {"bit_identical_to_1_thread": identical(out, bucket_out)}
    print(json.dumps({
        "model": str(args.model_dir), "sketches": len(points), "buckets": buckets,
        "mean_points": round(float(np.mean([len(p) for p in points])), 1),
        "mean_bucket_length": round(float(np.mean([x.shape[1] for x, _ in at_bucket])), 1),
        "1 thread, padded to the bucket (sketchq)": bucket_time,
        "1 thread, at the sketch's own length": length_time | {
            "bit_identical_to_the_bucket": identical(length_out, bucket_out),
            "max_relative_difference_of_q": float(max(abs(a[0][0] - b[0][0]) / abs(b[0][0])
                                                      for a, b in zip(length_out, bucket_out, strict=True)))},
        **threads}, indent=1))


if __name__ == "__main__":
    main()
