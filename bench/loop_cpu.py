"""The event loop's CPU per POST /score with the compiled preprocessing kernel (sketchprep.native) and without it,
in the same run: the app driven in process through ASGI (no sockets, no client), cache off, the real batcher and
one engine thread computing every sketch, LOAD's requests in flight (32 of 1 sketch, 8 of more). The loop thread's
own CPU time (time.thread_time) per request is what the kernel changes; the engine thread's is the same either way.

Each measurement is a fresh subprocess (numpy only: `sketchprep.native._native` set to None before the app is
built), the two alternated for `--rounds`; per mode the best of each subprocess's 3 passes is kept, and the JSON
gives every value, the medians and their ratio.

    python bench/loop_cpu.py                                   # 1-sketch and 64-sketch requests
    python bench/loop_cpu.py --sizes 1 --rounds 5 --out /tmp/loop.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODES = ("numpy", "native")
# (requests in flight, requests a pass) by sketches a request: the side-by-side's 1x32 and 64x8 points
LOAD: dict[int | str, tuple[int, int]] = {1: (32, 2048), "many": (8, 64)}


def measure(mode: str, size: int, concurrency: int, requests: int, data: Path) -> dict[str, Any]:
    """In this process: the loop thread's CPU (us) per request and requests/s, for 3 passes after a warm-up."""
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    from asgi_post import post_score
    from run import load_sketches

    from service.core.settings import Settings
    from service.main import create_app
    from sketchprep import native
    from sketchprep.card import ModelCard

    if mode == "numpy":
        native._native = None  # type: ignore[attr-defined]
    elif not native.AVAILABLE:
        raise SystemExit("sketchprep._native is not built (pip install -e . with a C compiler)")
    model_dir = REPO / "models" / "gacl"
    sketches = load_sketches(data, ModelCard.load(model_dir).classes, requests * size)
    bodies = [json.dumps({"sketches": sketches[i:i + size]}).encode() for i in range(0, len(sketches), size)]
    app = create_app(Settings(model_dir=model_dir, cache="off", log_level="warning", engine_workers=1,
                              max_queue=1 << 20, inline_when_idle=False))

    async def one(body: bytes) -> None:
        await post_score(app, body)

    async def clients() -> None:
        async def client(mine: list[bytes]) -> None:
            for body in mine:
                await one(body)
        await asyncio.gather(*(client(bodies[k::concurrency]) for k in range(concurrency)))

    async def run() -> list[tuple[float, float]]:
        async with app.router.lifespan_context(app):
            await clients()  # warm-up
            passes = []
            for _ in range(3):
                t0, c0 = time.perf_counter(), time.thread_time()
                await clients()
                passes.append(((time.thread_time() - c0) / len(bodies) * 1e6, len(bodies) / (time.perf_counter() - t0)))
            return passes

    passes = asyncio.run(run())
    return {"loop_us_per_request": round(min(p[0] for p in passes), 1),
            "requests_per_s": round(max(p[1] for p in passes), 1),
            "kernel_used": native._native is not None}  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 64], help="sketches per request")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--one", nargs=2, metavar=("MODE", "SIZE"), help=argparse.SUPPRESS)  # a subprocess's job
    args = ap.parse_args()
    if args.one:
        size = int(args.one[1])
        conc, reqs = LOAD[1] if size == 1 else LOAD["many"]
        print(json.dumps(measure(args.one[0], size, conc, reqs, args.data)))
        return
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for size in args.sizes:
            for mode in MODES:
                out = subprocess.run([sys.executable, __file__, "--data", str(args.data), "--one", mode, str(size)],
                                     capture_output=True, text=True, check=True)
                runs.append({"round": r + 1, "size": size, "mode": mode, **json.loads(out.stdout.splitlines()[-1])})
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    summary = {}
    for size in args.sizes:
        med = {m: statistics.median(x["loop_us_per_request"] for x in runs if x["size"] == size and x["mode"] == m)
               for m in MODES}
        summary[f"{size} sketch(es)/request"] = {
            "loop_us_per_request_numpy": med["numpy"], "loop_us_per_request_native": med["native"],
            "loop_us_per_sketch_numpy": round(med["numpy"] / size, 1),
            "loop_us_per_sketch_native": round(med["native"] / size, 1),
            "native_over_numpy": round(med["native"] / med["numpy"], 3)}
    result = {"command": "python bench/loop_cpu.py " + " ".join(sys.argv[1:]), "runs": runs, "summary": summary}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
