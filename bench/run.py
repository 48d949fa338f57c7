"""Benchmark of the scoring service: real server, load from a separate process, real sketches.

Measures, in one run, and prints JSON (also written to --out):
1. the ceiling: the ONNX Runtime engine alone, in this process, on pre-processed sketches batched the way
   the server batches them (one length bucket per batch), for several batch sizes and thread layouts; the
   best is the ceiling. Preprocessing throughput (sketchprep, one core) is reported beside it.
2. the server with micro-batching (the default settings) and 3. the same server with batching off
   (max_batch=1), each under closed-loop load at concurrency 1, 8, 32, 64 with 1-sketch and 64-sketch
   requests (cache off, so every sketch is computed);
4. cache-hit latency (in-process LRU, and Redis when redis-server is installed): sequential requests for
   sketches already in the cache.

    python bench/run.py --model-dir models/gacl --data ../shared/data/quickdraw --out bench/results.json

Other processes compete for the same cores: --wait-idle waits until no training job (`sketchq-train`,
`python -m training.*`) runs; the JSON records whether one ran and the load average.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the service, and the process helpers the tests use

from server_proc import RedisProc, ServerProc  # noqa: E402

from bench.proc_cpu import HZ, stat_fields, ticks  # noqa: E402
from service.core.settings import Settings  # noqa: E402
from service.inference.engine import Engine  # noqa: E402
from service.inference.loaded_model import LoadedModel  # noqa: E402
from sketchprep.formats import read_ndjson  # noqa: E402
from sketchprep.preprocess import collate, sketch_to_points  # noqa: E402
from sketchprep.strokes import strokes_to_drawing  # noqa: E402

TRAIN_PATTERN = r"sketchq-train|-m training\.|scripts/eval_"  # training, evaluation and calibration jobs


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def training_running(pattern: str = TRAIN_PATTERN) -> bool:
    """Is a job matching `pattern` (another process's command line) running? One paused with SIGSTOP (state T
    in /proc, as the benchmarks' notes pause training for a quiet machine) uses no CPU and does not count."""
    r = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    for pid in (int(p) for p in r.stdout.split() if p.strip()):
        if pid != os.getpid() and (fields := stat_fields(f"/proc/{pid}/stat")) is not None and fields[0] not in "Tt":
            return True  # (None: it ended meanwhile)
    return False


# --- data ------------------------------------------------------------------------------------------

def load_sketches(data: Path, classes: list[str], total: int, seed: int = 0) -> list[dict[str, Any]]:
    cats = [c for c in classes if (data / f"{c}.ndjson.gz").exists()]
    if not cats:
        raise SystemExit(f"no Quick, Draw! files for the model's classes in {data}")
    per = -(-total // len(cats))
    out = []
    for cat in cats:
        for rec in itertools.islice(read_ndjson(data / f"{cat}.ndjson.gz"), per):
            out.append({"strokes": strokes_to_drawing(rec.strokes), "label": rec.category})
    random.Random(seed).shuffle(out)
    return out[:total]


def write_bodies(path: Path, sketches: list[dict[str, Any]], per_request: int) -> Path:
    with open(path, "w") as fh:
        for i in range(0, len(sketches) - per_request + 1, per_request):
            fh.write(json.dumps({"sketches": sketches[i:i + per_request]}) + "\n")
    return path


# --- 1. the engine ceiling ---------------------------------------------------------------------------

def engine_throughput(engine: Engine, batches: list[tuple[np.ndarray, np.ndarray]], workers: int,
                      seconds: float) -> float:
    """Sketches/s with `workers` threads running the given batches round-robin for about `seconds`."""
    for b in batches[:workers]:
        engine.run(*b)
    done = [0] * workers
    end = time.perf_counter() + seconds

    def work(k: int) -> None:
        i = k
        while time.perf_counter() < end:
            points, lengths = batches[i % len(batches)]
            engine.run(points, lengths)
            done[k] += len(lengths)
            i += workers

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def bucket_batches(points: list[np.ndarray], buckets: list[int], size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches of `size` sketches of one length bucket each, padded to the bucket (as the server does)."""
    by_bucket: dict[int, list[np.ndarray]] = {b: [] for b in buckets}
    for p in points:
        by_bucket[next(b for b in buckets if len(p) <= b)].append(p)
    batches = []
    for b, ps in by_bucket.items():
        for i in range(0, len(ps) - size + 1, size):
            batches.append(collate(ps[i:i + size], b))  # (size, b, 7), (size,)
    random.Random(0).shuffle(batches)
    return batches


def measure_ceiling(model_dir: Path, sketches: list[dict[str, Any]], seconds: float, rounds: int) -> dict[str, Any]:
    """Every (threads, workers, batch) layout `rounds` times, interleaved; each layout's median is kept."""
    from sketchprep.strokes import strokes_from_drawing

    card = LoadedModel.load(model_dir)
    strokes = [strokes_from_drawing(s["strokes"]) for s in sketches]
    t0 = time.perf_counter()
    points = [sketch_to_points(s, card.preprocess) for s in strokes]  # (T_i, 7) each
    prep_rate = len(points) / (time.perf_counter() - t0)
    buckets = Settings(model_dir=model_dir).buckets_for(card.preprocess.max_points)
    layouts = [(1, 2), (2, 1)]  # (intra_op_threads, workers): both use the 2 cores
    engines = {t: Engine(card, Settings(model_dir=model_dir, intra_op_threads=t)) for t, _ in layouts}
    sizes = [b for b in (1, 8, 16, 32, 64, 128, 256) if bucket_batches(points, buckets, b)]
    rates: dict[tuple[int, int, int], list[float]] = {}
    for r in range(rounds):
        for threads, workers in layouts:
            for size in sizes:
                rate = engine_throughput(engines[threads], bucket_batches(points, buckets, size), workers, seconds)
                rates.setdefault((threads, workers, size), []).append(rate)
        log(f"ceiling round {r + 1}/{rounds}: best so far {max(max(v) for v in rates.values()):.0f} sketches/s")
    rows = [{"intra_op_threads": t, "workers": w, "batch": b, "sketches_per_s": round(float(np.median(v)), 1),
             "rounds": [round(x, 1) for x in v]} for (t, w, b), v in rates.items()]
    best = max(rows, key=lambda r: r["sketches_per_s"])
    return {"best": best, "all": rows, "buckets": buckets, "seconds_per_round": seconds,
            "preprocess_sketches_per_s_one_core": round(prep_rate, 1),
            "mean_points_per_sketch": round(float(np.mean([len(p) for p in points])), 1)}


# --- 2-4. the server under load ---------------------------------------------------------------------

def metric_sum(server: ServerProc, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels, from the server's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def cpu_seconds(server: ServerProc) -> tuple[float, float]:
    """(whole process, main thread: the event loop) CPU seconds so far, from /proc."""
    pid = server.proc.pid
    whole, main = (stat_fields(f"/proc/{pid}/stat"), stat_fields(f"/proc/{pid}/task/{pid}/stat"))
    if whole is None or main is None:
        raise RuntimeError(f"the server (pid {pid}) has exited")
    return ticks(whole) / HZ, ticks(main) / HZ


def start_server(model_dir: Path, **settings: Any) -> ServerProc:
    return ServerProc(model_dir=model_dir, log_level="warning", **settings)


def load(server: ServerProc, bodies: Path, concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
    cmd = [sys.executable, str(REPO / "bench" / "load.py"), "--port", str(server.port), "--bodies", str(bodies),
           "--concurrency", str(concurrency), "--duration", str(duration), "--warmup", str(warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def sweep(server: ServerProc, bodies: dict[int, Path], concurrencies: list[int], duration: float,
          warmup: float) -> list[dict[str, Any]]:
    rows = []
    for size, path in bodies.items():
        for c in concurrencies:
            b0 = metric_sum(server, "sketchq_batch_size_count")
            s0 = metric_sum(server, "sketchq_batch_size_sum")
            n0 = metric_sum(server, "sketchq_http_request_duration_seconds_count", endpoint="/score")
            cpu0, main0 = cpu_seconds(server)
            r = load(server, path, c, duration, warmup)
            cpu1, main1 = cpu_seconds(server)
            answered = metric_sum(server, "sketchq_http_request_duration_seconds_count", endpoint="/score") - n0
            batches = metric_sum(server, "sketchq_batch_size_count") - b0
            r.update({"sketches_per_request": size,
                      "sketches_per_s": round(r["requests_per_s"] * size, 1),
                      "mean_batch_size": round((metric_sum(server, "sketchq_batch_size_sum") - s0) / batches, 2)
                      if batches else None,
                      # over warm-up and window (every request the server answered): where the CPU goes
                      "server_cpu_ms_per_request": round(1000 * (cpu1 - cpu0) / answered, 3) if answered else None,
                      "server_loop_cpu_ms_per_request": round(1000 * (main1 - main0) / answered, 3)
                      if answered else None})
            log(f"size={size} c={c}: {r['sketches_per_s']} sketches/s p50={r['p50_ms']} p99={r['p99_ms']} ms "
                f"statuses={r['statuses']} mean batch={r['mean_batch_size']} server CPU/request "
                f"{r['server_cpu_ms_per_request']} ms (event loop {r['server_loop_cpu_ms_per_request']}), "
                f"client {r.get('client_cpu_ms_per_request')} ms")
            rows.append(r)
    return rows


def cache_hits(server: ServerProc, bodies: Path, duration: float) -> dict[str, Any]:
    lines = [ln for ln in bodies.read_text().splitlines() if ln.strip()][:50]
    warm = bodies.with_suffix(".warm.jsonl")
    warm.write_text("\n".join(lines) + "\n")
    for body in lines:  # fill the cache
        httpx.post(f"{server.url}/score", content=body, headers={"content-type": "application/json"}, timeout=30)
    h0, m0 = (metric_sum(server, "sketchq_cache_requests_total", outcome=o) for o in ("hit", "miss"))
    r = load(server, warm, 1, duration, 0.5)
    hits = metric_sum(server, "sketchq_cache_requests_total", outcome="hit") - h0
    misses = metric_sum(server, "sketchq_cache_requests_total", outcome="miss") - m0
    r.update({"cache_hits": hits, "cache_misses": misses})
    log(f"cache hits ({server.settings.get('cache', 'auto')}): p50={r['p50_ms']} p99={r['p99_ms']} ms, "
        f"hits={hits} misses={misses}")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=Path("models/gacl"))
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    ap.add_argument("--duration", type=float, default=8.0, help="measured seconds per load point")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="unrecorded seconds before each load point (longer than the slowest answer)")
    ap.add_argument("--ceiling-seconds", type=float, default=2.0, help="seconds per ceiling layout and round")
    ap.add_argument("--ceiling-rounds", type=int, default=3, help="ceiling rounds, before and after the servers")
    ap.add_argument("--sketches", type=int, default=4096, help="distinct real sketches used")
    ap.add_argument("--max-queue", type=int, default=8192, help="server queue bound (64 x 64-sketch requests fit)")
    ap.add_argument("--wait-idle", type=float, default=0.0, help="minutes to wait for no training job to run")
    ap.add_argument("--skip", nargs="*", default=[], choices=["ceiling", "batching", "nobatching", "cache"])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    model_dir = args.model_dir if args.model_dir.is_absolute() else (Path.cwd() / args.model_dir)

    waited = 0.0
    while training_running() and waited < args.wait_idle * 60:
        log("a training job is running; waiting for the machine to be idle")
        time.sleep(60)
        waited += 60
    contended_at_start = training_running()
    if contended_at_start:
        log("WARNING: a training job is running: numbers are taken under CPU contention")

    card = LoadedModel.load(model_dir)
    sketches = load_sketches(args.data, card.classes, args.sketches)
    tmp = Path(tempfile.mkdtemp(prefix="sketchq-bench-"))
    bodies = {1: write_bodies(tmp / "single.jsonl", sketches, 1), 64: write_bodies(tmp / "batch64.jsonl", sketches, 64)}
    result: dict[str, Any] = {
        "model": {"name": card.name, "version": card.version, "sha256": card.sha256, "dir": str(args.model_dir)},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup, "sketches": len(sketches),
                     "concurrency": args.concurrency, "max_queue": args.max_queue},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_average_at_start": os.getloadavg(),
    }
    if "ceiling" not in args.skip:
        result["ceiling_before"] = measure_ceiling(model_dir, sketches, args.ceiling_seconds, args.ceiling_rounds)
    common = {"cache": "off", "max_queue": args.max_queue}
    configs = {"batching": {}, "nobatching": {"max_batch": 1}}
    for name, extra in configs.items():
        if name in args.skip:
            continue
        server = start_server(model_dir, **common, **extra)
        try:
            log(f"server '{name}' settings: {common | extra}")
            result[name] = {"server_settings": common | extra,
                            "runs": sweep(server, bodies, args.concurrency, args.duration, args.warmup)}
        finally:
            server.stop()
    if "cache" not in args.skip:
        result["cache_hits"] = {}
        server = start_server(model_dir, cache="memory")
        try:
            result["cache_hits"]["memory"] = cache_hits(server, bodies[1], args.duration)
        finally:
            server.stop()
        if shutil.which("redis-server"):
            redis = RedisProc(maxmemory="256mb")
            server = start_server(model_dir, cache="redis", redis_url=redis.url)
            try:
                result["cache_hits"]["redis"] = cache_hits(server, bodies[1], args.duration)
            finally:
                server.stop()
                redis.stop()
    if "ceiling" not in args.skip:
        result["ceiling_after"] = measure_ceiling(model_dir, sketches, args.ceiling_seconds, args.ceiling_rounds)
        # The ceiling is the better of the two measurements (the stricter reference for the targets).
        result["ceiling"] = max(result["ceiling_before"], result["ceiling_after"],
                                key=lambda c: c["best"]["sketches_per_s"])
    result["training_job_running"] = {"at_start": contended_at_start, "at_end": training_running()}
    result["load_average_at_end"] = os.getloadavg()
    result["targets"] = evaluate(result)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


def evaluate(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, where the needed measurements exist."""
    def rate(name: str, size: int, c: int) -> float | None:
        for r in result.get(name, {}).get("runs", []):
            if r["sketches_per_request"] == size and r["concurrency"] == c:
                return r["sketches_per_s"]
        return None

    out: dict[str, Any] = {}
    ceiling = result.get("ceiling", {}).get("best", {}).get("sketches_per_s")
    on1, off1, on64 = rate("batching", 1, 32), rate("nobatching", 1, 32), rate("batching", 64, 32)
    if on1 and off1:
        out["single_c32_vs_batching_off"] = {"ratio": round(on1 / off1, 2), "target": ">= 2", "pass": on1 >= 2 * off1}
    if on1 and ceiling:
        out["single_c32_vs_ceiling"] = {"ratio": round(on1 / ceiling, 3), "target": ">= 0.5",
                                        "pass": on1 >= 0.5 * ceiling}
    if on64 and ceiling:
        best64 = max(r for c in result["settings"]["concurrency"] if (r := rate("batching", 64, c)))
        out["batch64_c32_vs_ceiling"] = {"ratio": round(on64 / ceiling, 3), "target": ">= 0.85",
                                         "pass": on64 >= 0.85 * ceiling,
                                         "best_over_concurrency_ratio": round(best64 / ceiling, 3)}
    for backend, r in result.get("cache_hits", {}).items():
        out[f"cache_hit_p50_{backend}"] = {"p50_ms": r["p50_ms"], "target": "< 2 ms", "pass": r["p50_ms"] < 2.0}
    return out


if __name__ == "__main__":
    main()
