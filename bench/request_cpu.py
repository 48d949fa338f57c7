"""CPU of one POST /score on the service's own request path, in process: the app driven through ASGI with
the in-process cache warm, so each request is parsing, validation, preprocessing, a cache lookup, the
interpretation, the answer's bytes and the metrics, and no model compute (no server, no client, no socket:
steadier than bench/run.py on a machine shared with other jobs).

    python bench/request_cpu.py                     # this checkout
    python bench/request_cpu.py --repo /path/to/another/checkout

Prints microseconds of process CPU per request: the best and the median of 5 rounds over 100 real
single-sketch requests (with their labels), each round 10 passes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

from asgi_post import post_score

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout whose service is measured")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    args = ap.parse_args()
    sys.path.insert(0, str(args.repo))
    from service.core.settings import Settings
    from service.main import create_app
    from sketchprep.formats import read_ndjson
    from sketchprep.strokes import strokes_to_drawing

    app = create_app(Settings(model_dir=args.repo / "models" / "gacl", cache="memory", log_level="warning"))
    recs = [r for c in ("cat", "dog", "eye", "owl")
            for r in itertools.islice(read_ndjson(args.data / f"{c}.ndjson.gz"), 25)]
    bodies = [json.dumps({"sketches": [{"strokes": strokes_to_drawing(r.strokes), "label": r.category}]}).encode()
              for r in recs]

    async def one(body: bytes) -> None:
        await post_score(app, body)

    async def run() -> list[float]:
        async with app.router.lifespan_context(app):
            for body in bodies:  # fills the cache
                await one(body)
            rounds = []
            for _ in range(5):
                start = time.process_time()
                for _ in range(10):
                    for body in bodies:
                        await one(body)
                rounds.append((time.process_time() - start) / (10 * len(bodies)) * 1e6)
            return rounds

    rounds = sorted(asyncio.run(run()))
    print(json.dumps({"repo": str(args.repo), "us_per_request_best": round(rounds[0], 1),
                      "us_per_request_median": round(rounds[2], 1)}))


if __name__ == "__main__":
    main()
