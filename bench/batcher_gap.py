"""In-process probe of the batcher: how busy the engine workers are while the event loop is busy too.

C client coroutines on one event loop each spend `--loop-ms` of CPU on the loop (standing in for HTTP
parsing, validation, preprocessing and serialisation) and then submit one real sketch to a real Batcher
on the real engine (default settings: max_batch 64, max_wait 2 ms, 2 workers), in a closed loop. Prints
JSON: sketches/s, mean batch size, and the engine workers' busy fraction (time inside the model call over
the window x workers) and their mean gap between two batches (idle time while work may be queued).

--repo picks the tree whose `service` package is imported, so the same script measures two versions:

    nice -n 10 python bench/batcher_gap.py --repo /tmp/old-tree --seconds 5
    nice -n 10 python bench/batcher_gap.py --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=HERE)
    ap.add_argument("--model-dir", type=Path, default=None, help="default: REPO/models/gacl")
    ap.add_argument("--data", type=Path, default=HERE.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--loop-ms", type=float, default=0.5, help="event-loop CPU per request")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--switch-interval-ms", type=float, default=None, help="sys.setswitchinterval (GIL)")
    args = ap.parse_args()
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1000.0)
    sys.path.insert(0, str(args.repo.resolve()))

    from service.core.metrics import Metrics
    from service.core.settings import Settings
    from service.inference.batcher import Batcher, BatcherConfig
    from service.inference.engine import Engine
    from service.inference.loaded_model import LoadedModel
    from service.inference.outputs import EngineOutputs
    from sketchprep.formats import read_ndjson
    from sketchprep.preprocess import sketch_to_points

    model_dir = args.model_dir or args.repo / "models" / "gacl"
    card = LoadedModel.load(model_dir)
    settings = Settings(model_dir=model_dir)
    engine = Engine(card, settings)
    cats = [c for c in card.classes if (args.data / f"{c}.ndjson.gz").exists()]
    points = [sketch_to_points(r.strokes, card.preprocess) for c in cats
              for r in itertools.islice(read_ndjson(args.data / f"{c}.ndjson.gz"), 50)]
    spans: dict[str, list[tuple[float, float, int]]] = {}  # thread name -> (start, end, batch) per call

    def run(p: Any, lengths: Any) -> EngineOutputs:
        start = time.perf_counter()
        out = engine.run(p, lengths)
        spans.setdefault(threading.current_thread().name, []).append((start, time.perf_counter(), len(lengths)))
        return out

    config = BatcherConfig(max_batch=settings.max_batch, max_wait_s=settings.max_wait_ms / 1000.0,
                           buckets=settings.buckets_for(card.preprocess.max_points), workers=settings.engine_workers,
                           max_queue=8192)

    async def client(batcher: Batcher, k: int, stop_at: float, done: list[int]) -> None:
        i = k
        while time.perf_counter() < stop_at:
            spin_until = time.perf_counter() + args.loop_ms / 1000.0
            while time.perf_counter() < spin_until:  # event-loop work of one request
                pass
            await batcher.submit([points[i % len(points)]])
            done[k] += 1
            i += args.concurrency

    async def measure() -> dict[str, Any]:
        batcher = Batcher(run, config, Metrics())
        await batcher.start()
        try:
            t0 = time.perf_counter()
            window = (t0 + args.warmup, t0 + args.warmup + args.seconds)
            done = [0] * args.concurrency
            tasks = [asyncio.create_task(client(batcher, k, window[1], done)) for k in range(args.concurrency)]
            await asyncio.sleep(args.warmup)
            before = sum(done)
            await asyncio.sleep(args.seconds)
            answered = sum(done) - before
            await asyncio.gather(*tasks)
        finally:
            await batcher.stop()
        busy, gaps, batches, sketches = 0.0, [], 0, 0
        for calls in spans.values():
            inside = [(s, e, b) for s, e, b in calls if window[0] <= s and e <= window[1]]
            busy += sum(e - s for s, e, _ in inside)
            gaps += [s2 - e1 for (_, e1, _), (s2, _, _) in itertools.pairwise(inside)]
            batches += len(inside)
            sketches += sum(b for _, _, b in inside)
        return {"repo": str(args.repo), "concurrency": args.concurrency, "loop_ms": args.loop_ms,
                "switch_interval_ms": sys.getswitchinterval() * 1000,
                "sketches_per_s": round(answered / args.seconds, 1),
                "mean_batch": round(sketches / batches, 2) if batches else None,
                "engine_busy_fraction": round(busy / args.seconds / config.workers, 3),
                "mean_gap_ms": round(1000 * sum(gaps) / len(gaps), 3) if gaps else None}

    print(json.dumps(asyncio.run(measure())))


if __name__ == "__main__":
    main()
