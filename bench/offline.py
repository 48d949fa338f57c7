"""Benchmark of the offline path (issue 15), every mode over the same drawings, compared in one run:

1. `sketchq score` with 1 and with 2 worker processes (wall time of the whole command, start-up included);
2. the Ray Data job on a local Ray instance (num_cpus=2, 2 actors);
3. the HTTP service (`python -m service`, cache off) driven by a client: 256-sketch POST /score requests
   (the service's limit) from 4 client threads;
4. the engine ceiling of bench/run.py (ONNX Runtime alone on pre-processed sketches, best layout);
5. peak RSS of `sketchq score` (1 worker) over a stream of N drawings and over one of --large drawings (the same
   files again under other names: drawings repeat), which must be the same within 10 %.

Drawings: the real Quick, Draw! drawings of the model's classes (at most 2000 points, the service's limit),
repeated and shuffled (seeded) up to N, written as 4 NDJSON files (shards) in a temporary folder. Prints JSON
(also written to --out). Contention-sensitive: run it on a quiet machine; the JSON records the load average.

    .venv/bin/python bench/offline.py --n 100000 --large 2000000 --out bench/results-offline.json
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from server_proc import ServerProc  # noqa: E402

from sketchprep.card import ModelCard  # noqa: E402

SHARDS = 4
PER_REQUEST = 256
CLIENTS = 4
# Peak RSS of this process's memory (VmHWM), not getrusage's ru_maxrss: Linux carries ru_maxrss over an exec, so
# a child of a big process would report its parent's size. Worker processes (--workers 2) are not counted.
RSS_CODE = ("import sys; from offline.cli import main; rc = main(sys.argv[1:]); "
            "hwm = next(ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')); "
            "print('peak_rss_kib', hwm, file=sys.stderr); sys.exit(rc)")


def log(msg: str) -> None:
    print(f"[bench-offline {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def drawings(data: Path, classes: list[str], n: int, seed: int = 0) -> list[dict[str, Any]]:
    pool = []
    for c in classes:
        path = data / f"{c}.ndjson.gz"
        if path.exists():
            with gzip.open(path, "rt") as fh:
                pool += [o for o in map(json.loads, fh) if sum(len(s[0]) for s in o["drawing"]) <= 2000]
    rng = random.Random(seed)
    out = [pool[i % len(pool)] for i in range(n)]
    rng.shuffle(out)
    return out


def write_shards(objs: list[dict[str, Any]], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(SHARDS):
        p = folder / f"part{k}.ndjson"
        p.write_text("".join(json.dumps(o) + "\n" for o in objs[k::SHARDS]))
        paths.append(p)
    return paths


def run_cli(args: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", RSS_CODE, *args], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"sketchq {' '.join(args)} failed: {r.stderr[-2000:]}")
    rss = int(next(ln.split()[1] for ln in r.stderr.splitlines() if ln.startswith("peak_rss_kib")))
    return {"seconds": round(wall, 2), "peak_rss_mib": round(rss / 1024, 1)}


def score_mode(files: list[Path], out: Path, n: int, workers: int) -> dict[str, Any]:
    res = run_cli(["score", *map(str, files), "--out", str(out), "--no-progress", "--workers", str(workers)])
    out = {**res, "drawings": n, "sketches_per_s": round(n / res["seconds"], 1)}
    if workers > 1:
        out["peak_rss_mib_note"] = "this process only (it scores its share; the child is not counted)"
    return out


def ray_mode(files: list[Path], out: Path, n: int) -> dict[str, Any]:
    code = ("import sys; from pathlib import Path; from offline.ray_job import run_ray; "
            "from offline.run import RunOptions; from offline.scoring import EngineOptions; "
            "r = run_ray(RunOptions(tuple(sys.argv[2:]), 'parquet', EngineOptions(), progress=False), "
            "Path(sys.argv[1]), 'local', 2, num_cpus=2, actor_cpus=0.5); print('rows', r.rows)")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, str(out), *map(str, files)], cwd=REPO, capture_output=True,
                       text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"the Ray job failed: {r.stderr[-2000:]}")
    rows = int(next(ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("rows")))
    return {"seconds": round(wall, 2), "drawings": rows, "sketches_per_s": round(rows / wall, 1),
            "note": "ray.init(num_cpus=2), 2 actors of 0.5 CPU; start-up of the local instance included"}


def http_mode(model: Path, objs: list[dict[str, Any]]) -> dict[str, Any]:
    bodies = [json.dumps({"sketches": [{"strokes": o["drawing"], "label": o["word"]} for o in objs[i:i + PER_REQUEST]],
                          "top_k": 1}).encode() for i in range(0, len(objs), PER_REQUEST)]
    srv = ServerProc(model_dir=model, cache="off", max_queue=8192)
    try:
        with httpx.Client(timeout=120) as warm:
            warm.post(f"{srv.url}/score", content=bodies[0], headers={"content-type": "application/json"})
        clients = [httpx.Client(timeout=120) for _ in range(CLIENTS)]

        def send(k: int) -> int:
            n = 0
            for b in bodies[k::CLIENTS]:
                r = clients[k].post(f"{srv.url}/score", content=b, headers={"content-type": "application/json"})
                r.raise_for_status()
                n += len(r.json()["results"])
            return n

        t0 = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            done = sum(pool.map(send, range(CLIENTS)))
        wall = time.perf_counter() - t0
    finally:
        srv.stop()
    return {"seconds": round(wall, 2), "drawings": done, "sketches_per_s": round(done / wall, 1),
            "note": f"{PER_REQUEST} sketches a request, {CLIENTS} client threads, cache off; server already warm"}


def ceiling_mode(model: Path, objs: list[dict[str, Any]]) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    assert spec and spec.loader
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    sample = [{"strokes": o["drawing"], "label": o["word"]} for o in objs[:4096]]
    result = run.measure_ceiling(model, sample, seconds=2.0, rounds=1)
    return {"sketches_per_s": result["best"]["sketches_per_s"], "layout": result["best"],
            "preprocess_sketches_per_s_one_core": result["preprocess_sketches_per_s_one_core"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "gacl")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=2_000_000, help="drawings of the long stream (a multiple of n)")
    ap.add_argument("--modes", default="score1,score2,ray,http,ceiling,rss")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results-offline.json")
    args = ap.parse_args()
    modes = args.modes.split(",")
    card = ModelCard.load(args.model)
    objs = drawings(args.data, card.classes, args.n)
    result: dict[str, Any] = {"n": args.n, "load_average_start": os.getloadavg(), "cpus": os.cpu_count(),
                              "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="sketchq-bench-") as tmp:
        files = write_shards(objs, Path(tmp) / "in")
        for mode in modes:
            log(f"{mode} ...")
            if mode in ("score1", "score2"):
                result[mode] = score_mode(files, Path(tmp) / f"{mode}.parquet", args.n, int(mode[-1]))
            elif mode == "ray":
                result[mode] = ray_mode(files, Path(tmp) / "ray.parquet", args.n)
            elif mode == "http":
                result[mode] = http_mode(args.model, objs)
            elif mode == "ceiling":
                result[mode] = ceiling_mode(args.model, objs)
            elif mode == "rss":
                copies = max(1, args.large // args.n)
                big = Path(tmp) / "big"
                big.mkdir()
                many = []
                for c, f in itertools.product(range(copies), files):
                    (link := big / f"copy{c:03d}-{f.name}").symlink_to(f)
                    many.append(link)
                small = score_mode(files, Path(tmp) / "rss-small.parquet", args.n, 1)
                large = score_mode(many, Path(tmp) / "rss-large.parquet", args.n * copies, 1)
                result[mode] = {"small": small, "large": large,
                                "ratio": round(large["peak_rss_mib"] / small["peak_rss_mib"], 3)}
            log(f"{mode}: {json.dumps(result[mode])}")
    result["load_average_end"] = os.getloadavg()
    if "ceiling" in result:
        for m in ("score1", "score2", "ray", "http"):
            if m in result:
                result[m]["of_ceiling"] = round(result[m]["sketches_per_s"] / result["ceiling"]["sketches_per_s"], 3)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
