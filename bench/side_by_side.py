"""Side-by-side benchmark (issue 17): sketchq against NVIDIA Triton (PyTriton) and a naive FastAPI + ONNX
Runtime server, in the same run, on the same 4,096 real sketches and the same ONNX model.

1. the engine ceiling (bench/run.py's measure_ceiling: ORT alone, in process) before the servers start;
2. every stack started (bench/stacks.py; sketchq with its defaults except the cache off and the queue bound
   raised), and their answers checked equal: for a sample of sketches (in 64-sketch requests, and the first
   ones again as 1-sketch requests) each peer's q must equal sketchq's within the tolerance, relative
   (|q_peer - q_sketchq| <= tol * max(|q_sketchq|, 1)), and the predicted class must match; a mismatch
   fails the run (exit 1, after writing the JSON);
3. closed-loop load (bench/load.py, one process per load point, pre-encoded bodies) at every load point
   (1 sketch per request at c=1, 8, 32, 64; 64 sketches per request at c=8, 32), every stack one after the
   other at each point, in rounds (round 2 in the reverse order of stacks): requests/s, sketches/s,
   p50/p95/p99, statuses, the server's CPU per request (its whole process tree, from /proc, over the
   measured window) and the client's;
4. the stacks stopped, the ceiling again; the better of the two is the ceiling;
5. sketchq's cache-hit latency with the in-process LRU and with Redis (bench/run.py's cache_hits);
6. the ratios and the issue's targets (bench/side_by_side_eval.py). JSON to stdout and --out;
   bench/report_side_by_side.py renders it as markdown.

    python bench/side_by_side.py --model-dir models/gacl --data ../shared/data/quickdraw \
        --out bench/results-side-by-side.json
    # quick check while developing:
    python bench/side_by_side.py --quick --points 1x32 64x8 --stacks sketchq naive --skip ceiling cache

A peer that cannot be installed or started (no Triton venv: bench/peers/setup_triton.sh) is skipped with a
message, printed and recorded under "skipped".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from run import cache_hits, load_sketches, log, measure_ceiling, start_server, training_running, write_bodies
from server_proc import RedisProc  # tests/ is put on sys.path by run.py
from side_by_side_eval import compare, evaluate, point_name, summarise
from stacks import ALL_STACKS, BENCH, TRITON_VENV, PeerUnavailable, Stack, post, start_stack, triton_body

from sketchprep.card import ModelCard

DEFAULT_POINTS = ["1x1", "1x8", "1x32", "1x64", "64x8", "64x32"]


def parse_point(text: str) -> tuple[int, int]:
    size, _, conc = text.partition("x")
    if not (size.isdigit() and conc.isdigit()):
        raise argparse.ArgumentTypeError(f"a load point is SIZExCONCURRENCY, e.g. 1x32 or 64x8, not {text!r}")
    return int(size), int(conc)


def write_triton_bodies(path: Path, sketches: list[dict[str, Any]], per_request: int) -> Path:
    """Like run.write_bodies, for Triton: one KServe-v2 JSON body per line."""
    with open(path, "wb") as fh:
        for i in range(0, len(sketches) - per_request + 1, per_request):
            fh.write(triton_body(sketches[i:i + per_request]) + b"\n")
    return path


def check_answers(stacks: dict[str, Stack], sketches: list[dict[str, Any]], tolerance: float,
                  singles: int = 16) -> dict[str, Any]:
    """Each peer's q and class against sketchq's for `sketches` (64-sketch requests) and their first `singles`
    (1-sketch requests)."""
    def answers(stack: Stack) -> list[tuple[float, str]]:
        out = [a for i in range(0, len(sketches), 64) for a in post(stack, sketches[i:i + 64])]
        return out + [post(stack, [s])[0] for s in sketches[:singles]]

    reference = answers(stacks["sketchq"])
    report: dict[str, Any] = {"sketches": len(sketches), "single_sketch_requests": singles, "tolerance": tolerance,
                              "rule": "|q_peer - q_sketchq| <= tolerance * max(|q_sketchq|, 1) (relative), "
                                      "same predicted class", "peers": {}}
    for name, stack in stacks.items():
        if name == "sketchq":
            continue
        got = answers(stack)
        abs_diff = [abs(g[0] - r[0]) for g, r in zip(got, reference, strict=True)]
        rel_diff = [d / max(abs(r[0]), 1.0) for d, r in zip(abs_diff, reference, strict=True)]
        classes = sum(g[1] != r[1] for g, r in zip(got, reference, strict=True))
        ok = max(rel_diff) <= tolerance and classes == 0
        report["peers"][name] = {"max_abs_diff": max(abs_diff), "max_rel_diff": max(rel_diff),
                                 "over_tolerance": sum(d > tolerance for d in rel_diff),
                                 "class_mismatches": classes, "pass": ok}
        log(f"answers of {name} vs sketchq: max |dq| {max(abs_diff):.3g}, max relative {max(rel_diff):.3g}, "
            f"class mismatches {classes}: {'OK' if ok else 'MISMATCH'}")
    report["pass"] = all(p["pass"] for p in report["peers"].values())
    return report


def drive(stack: Stack, bodies: Path, concurrency: int, duration: float, warmup: float,
          stacks: dict[str, Stack]) -> dict[str, Any]:
    """One load point against one stack (bench/load.py in its own process); the CPU of every stack's
    process tree over the measured window is read by the client."""
    cmd = [sys.executable, str(BENCH / "load.py"), "--port", str(stack.port), "--path", stack.path,
           "--bodies", str(bodies), "--concurrency", str(concurrency), "--duration", str(duration),
           "--warmup", str(warmup), *[a for s in stacks.values() for a in ("--cpu-pid", f"{s.name}={s.pid}")]]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench/load.py failed against {stack.name}:\n{out.stderr[-3000:]}")
    r = json.loads(out.stdout)
    cpu = r.pop("cpu_s_in_window")
    own, main = cpu[stack.name], r.pop("main_thread_cpu_s_in_window")[stack.name]
    r.update({"server_cpu_s": own,
              "server_cpu_ms_per_request": round(1000 * own / r["ok"], 3) if r["ok"] else None,
              # (sketchq: the event loops; the rest is the engine threads)
              "server_main_threads_cpu_ms_per_request": round(1000 * main / r["ok"], 3) if r["ok"] else None,
              "server_cpu_cores": round(own / duration, 2),
              "other_stacks_cpu_s": round(sum(v for k, v in cpu.items() if k != stack.name), 3)})
    return r


def measure(stacks: dict[str, Stack], points: list[tuple[int, int]], bodies: dict[tuple[str, int], Path],
            rounds: int, duration: float, warmup: float) -> list[dict[str, Any]]:
    """Interleaved: at each load point every stack, then the next point; round 2 in the reverse order."""
    runs = []
    for rnd in range(1, rounds + 1):
        order = list(stacks) if rnd % 2 else list(reversed(stacks))
        log(f"round {rnd}/{rounds}, order {order}")
        for size, conc in points:
            for name in order:
                r = drive(stacks[name], bodies[(name, size)], conc, duration, warmup, stacks)
                r = {"stack": name, "round": rnd, "load_point": point_name(size, conc),
                     "sketches_per_request": size, "sketches_per_s": round(r["requests_per_s"] * size, 1), **r}
                log(f"{name:8s} {size}x{conc} r{rnd}: {r['sketches_per_s']} sketches/s p50={r['p50_ms']} "
                    f"p99={r['p99_ms']} ms statuses={r['statuses']} server CPU/req {r['server_cpu_ms_per_request']} "
                    f"ms ({r['server_cpu_cores']} cores), client {r['client_cpu_ms_per_request']} ms, "
                    f"idle stacks {r['other_stacks_cpu_s']} CPU s")
                runs.append(r)
    return runs


def measure_cache_hits(model_dir: Path, bodies: Path, duration: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    server = start_server(model_dir, cache="memory")
    try:
        out["memory"] = cache_hits(server, bodies, duration)
    finally:
        server.stop()
    if not shutil.which("redis-server"):
        log("SKIPPED: cache hits with Redis (redis-server is not installed)")
        return out
    redis = RedisProc(maxmemory="256mb")
    server = start_server(model_dir, cache="redis", redis_url=redis.url)
    try:
        out["redis"] = cache_hits(server, bodies, duration)
    finally:
        server.stop()
        redis.stop()
    return out


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=Path("models/gacl"))
    ap.add_argument("--data", type=Path, default=BENCH.parent.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--stacks", nargs="+", default=list(ALL_STACKS), choices=ALL_STACKS,
                    help="stacks to run (sketchq is always run: it is the reference)")
    ap.add_argument("--points", nargs="+", type=parse_point, default=[parse_point(p) for p in DEFAULT_POINTS],
                    help="load points SIZExCONCURRENCY (sketches per request x concurrency)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds per stack and load point")
    ap.add_argument("--warmup", type=float, default=3.0, help="unrecorded seconds before each window")
    ap.add_argument("--ceiling-seconds", type=float, default=2.0)
    ap.add_argument("--ceiling-rounds", type=int, default=2)
    ap.add_argument("--sketches", type=int, default=4096)
    ap.add_argument("--check-sketches", type=int, default=256, help="sketches whose answers are compared")
    ap.add_argument("--tolerance", type=float, default=1e-6, help="relative tolerance on q")
    ap.add_argument("--max-queue", type=int, default=8192, help="sketchq's queue bound (per process)")
    ap.add_argument("--sketchq-workers", type=int, default=os.cpu_count() or 1,
                    help="sketchq's service processes (SKETCHQ_WORKERS; default one per core, each with one engine "
                         "worker; 1: one process with the default two engine workers)")
    ap.add_argument("--triton-venv", type=Path, default=TRITON_VENV)
    ap.add_argument("--triton-args", default="", help="extra arguments for bench/peers/triton_server.py")
    ap.add_argument("--skip", nargs="*", default=[], choices=["ceiling", "cache"])
    ap.add_argument("--quick", action="store_true",
                    help="development check: 1 round, 1 s warm-up, 2 s windows, 1 ceiling round of 0.5 s")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.warmup, args.duration, args.ceiling_rounds, args.ceiling_seconds = 1, 1.0, 2.0, 1, 0.5
    if "sketchq" not in args.stacks:
        args.stacks = ["sketchq", *args.stacks]
    args.model_dir = args.model_dir.resolve()
    return args


def main() -> int:
    args = parse_args()
    card = ModelCard.load(args.model_dir)
    sketches = load_sketches(args.data, card.classes, args.sketches)
    tmp = Path(tempfile.mkdtemp(prefix="sketchq-side-by-side-"))
    result: dict[str, Any] = {
        "model": {"name": card.name, "version": card.version, "sha256": card.onnx.sha256, "dir": str(args.model_dir)},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds,
                     "sketches": len(sketches), "points": [point_name(*p) for p in args.points],
                     "stacks": args.stacks, "ceiling_seconds": args.ceiling_seconds,
                     "ceiling_rounds": args.ceiling_rounds},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_average_at_start": os.getloadavg(), "training_job_running_at_start": training_running(),
        "skipped": {}, "stacks": {},
    }
    if "ceiling" not in args.skip:
        result["ceiling_before"] = measure_ceiling(args.model_dir, sketches, args.ceiling_seconds, args.ceiling_rounds)
    stacks: dict[str, Stack] = {}
    failed = False
    try:
        for name in args.stacks:
            try:
                stacks[name] = start_stack(name, args.model_dir, args.max_queue, args.triton_venv,
                                           args.triton_args.split(), args.sketchq_workers)
                result["stacks"][name] = stacks[name].info
                log(f"started {name} on port {stacks[name].port}")
            except PeerUnavailable as e:
                if name == "sketchq":
                    raise
                result["skipped"][name] = str(e)
                log(f"SKIPPED peer {name}: {e}")
        result["answers_check"] = check_answers(stacks, sketches[:args.check_sketches], args.tolerance)
        if not result["answers_check"]["pass"]:
            failed = True
            log("FAILED: a peer's answers differ from sketchq's (see answers_check); no load is measured")
        else:
            sizes = sorted({s for s, _ in args.points})
            bodies = {}
            for size in sizes:
                score_file = write_bodies(tmp / f"score-{size}.jsonl", sketches, size)
                triton_file = write_triton_bodies(tmp / f"triton-{size}.jsonl", sketches, size)
                for name in stacks:
                    bodies[(name, size)] = triton_file if name == "triton" else score_file
            result["runs"] = measure(stacks, args.points, bodies, args.rounds, args.duration, args.warmup)
    finally:
        for stack in stacks.values():
            stack.stop()
    if not failed:
        if "ceiling" not in args.skip:
            result["ceiling_after"] = measure_ceiling(args.model_dir, sketches, args.ceiling_seconds,
                                                      args.ceiling_rounds)
            result["ceiling"] = max(result["ceiling_before"], result["ceiling_after"],
                                    key=lambda c: c["best"]["sketches_per_s"])
        if "cache" not in args.skip:
            single = write_bodies(tmp / "cache-1.jsonl", sketches, 1)
            result["cache_hits"] = measure_cache_hits(args.model_dir, single, args.duration)
        result["summary"] = summarise(result["runs"])
        ceiling = result.get("ceiling", {}).get("best", {}).get("sketches_per_s")
        result["comparison"] = compare(result["summary"], ceiling)
        result["targets"] = evaluate(result)
    result["load_average_at_end"] = os.getloadavg()
    result["training_job_running_at_end"] = training_running()
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, why in result["skipped"].items():
        log(f"note: peer {name} was SKIPPED: {why.splitlines()[0]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
