"""Micro-benchmark of preprocessing: the single-pass `sketch_to_points` against the previous implementation.

Both run in this process, on the same real sketches, pinned to one core, in interleaved rounds (old, new,
old, new, ...) so that other load on the machine hits both alike; prints JSON with microseconds per sketch
(median and best round) for:
- `sketch_to_points`: strokes (already arrays) -> (T, 7) float32; also on the sketches of at most
  max_points points alone (the others spend ~1.7 ms each in RDP, `sketchprep/rdp.py`, alike in both);
- `from_drawing`: the service's work per sketch after validation, `strokes_from_drawing` + `sketch_to_points`.
The old implementation is `reference_sketch_to_points` in tests/sketchprep/test_preprocess_reference.py
(the code before the rewrite, kept there as the test's reference). Every output is also checked equal.

    nice -n 10 python bench/preprocess_speed.py --sketches 4096 --rounds 7
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sketchprep.card import ModelCard  # noqa: E402
from sketchprep.formats import read_ndjson  # noqa: E402
from sketchprep.preprocess import PreprocessConfig, sketch_to_points  # noqa: E402
from sketchprep.strokes import Sketch, strokes_from_drawing, strokes_to_drawing  # noqa: E402


def load_reference() -> Callable[[Sketch, PreprocessConfig], np.ndarray]:
    path = REPO / "tests" / "sketchprep" / "test_preprocess_reference.py"
    spec = importlib.util.spec_from_file_location("preprocess_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reference_sketch_to_points


def load_sketches(data: Path, classes: list[str], total: int, seed: int = 0) -> list[Sketch]:
    """`total` real sketches of `classes`, the first ones of each file, shuffled (as bench/run.py does)."""
    cats = [c for c in classes if (data / f"{c}.ndjson.gz").exists()]
    per = -(-total // len(cats))
    out = [r.strokes for c in cats for r in itertools.islice(read_ndjson(data / f"{c}.ndjson.gz"), per)]
    random.Random(seed).shuffle(out)
    return out[:total]


def time_per_item(fn: Callable[[Any], Any], items: list[Any]) -> float:
    """Microseconds per item for one pass of `fn` over `items`."""
    start = time.perf_counter()
    for x in items:
        fn(x)
    return 1e6 * (time.perf_counter() - start) / len(items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=REPO / "models" / "gacl")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--sketches", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--core", type=int, default=None, help="CPU to pin to (default: the last one allowed)")
    args = ap.parse_args()

    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    card = ModelCard.load(args.model_dir)
    cfg = card.preprocess.config()
    sketches = load_sketches(args.data, card.classes, args.sketches)
    drawings = [strokes_to_drawing(s) for s in sketches]  # as the service receives them (lists of numbers)
    reference = load_reference()

    mismatches = sum(not np.array_equal(sketch_to_points(s, cfg), reference(s, cfg)) for s in sketches)
    lengths = [len(sketch_to_points(s, cfg)) for s in sketches]
    over = sum(sum(len(x) for x in s) > cfg.max_points for s in sketches)

    fitting = [s for s in sketches if sum(len(x) for x in s) <= cfg.max_points]  # no RDP needed
    fns: dict[str, dict[str, tuple[Callable[[Any], Any], list[Any]]]] = {
        "sketch_to_points": {"old": (lambda s: reference(s, cfg), sketches),
                             "new": (lambda s: sketch_to_points(s, cfg), sketches)},
        "sketch_to_points_within_max_points": {"old": (lambda s: reference(s, cfg), fitting),
                                               "new": (lambda s: sketch_to_points(s, cfg), fitting)},
        "from_drawing": {"old": (lambda d: reference(strokes_from_drawing(d), cfg), drawings),
                         "new": (lambda d: sketch_to_points(strokes_from_drawing(d), cfg), drawings)},
    }
    times: dict[str, dict[str, list[float]]] = {k: {"old": [], "new": []} for k in fns}
    for _ in range(args.rounds):
        for what, pair in fns.items():
            for which, (fn, items) in pair.items():
                times[what][which].append(time_per_item(fn, items))

    load = subprocess.run(["pgrep", "-f", r"sketchq-train|-m training\.|scripts/eval_"], capture_output=True, text=True)
    result: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "sketches": len(sketches), "rounds": args.rounds, "core": core, "niceness": os.nice(0),
        "mean_points_after": round(float(np.mean(lengths)), 1), "sketches_over_max_points": over,
        "outputs_not_identical": mismatches,
        "training_job_running": bool(load.stdout.strip()), "load_average": os.getloadavg(),
    }
    for what, t in times.items():
        old_med, new_med = statistics.median(t["old"]), statistics.median(t["new"])
        result[what] = {"old_us_median": round(old_med, 1), "new_us_median": round(new_med, 1),
                        "old_us_best": round(min(t["old"]), 1), "new_us_best": round(min(t["new"]), 1),
                        "speedup_median": round(old_med / new_med, 2),
                        "rounds_old": [round(x, 1) for x in t["old"]], "rounds_new": [round(x, 1) for x in t["new"]]}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
