"""Two revisions of the service under the same load, interleaved: does a change make sketchq faster?

Run-to-run conditions on a shared machine move single throughput figures by 5 % and more (bench/README.md), so a
change is judged against the revision before it in the same run: `--base` is checked out into a temporary git
worktree, and each round starts the base's server and then the working tree's (`python -m service` from each tree,
the same settings and model, `--settings` added to both), drives each through the load points with bench/load.py
and stops it. JSON to stdout and --out: per round, revision and point the sketches/s and p50; the mean of each;
the ratio new / base.

    python bench/ab_revisions.py --base HEAD~1 --points 1x32 64x8 --rounds 3 \\
        --settings workers=2 engine_workers=1 --out /tmp/ab.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import load_sketches, write_bodies  # noqa: E402

from sketchprep.card import ModelCard  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(tree: Path, model_dir: Path, settings: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """`python -m service` from `tree` (its own packages first on the path), ready to answer."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKETCHQ_")}
    env.update({"PYTHONPATH": str(tree), "SKETCHQ_PORT": str(port), "SKETCHQ_HOST": "127.0.0.1",
                "SKETCHQ_MODEL_DIR": str(model_dir), "SKETCHQ_CACHE": "off", "SKETCHQ_MAX_QUEUE": "8192",
                "SKETCHQ_LOG_LEVEL": "warning"})
    env.update({f"SKETCHQ_{k.upper()}": v for k, v in settings.items()})
    proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=tree, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server of {tree} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the server of {tree} did not get ready in 120 s")


def drive(port: int, bodies: Path, concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
    cmd = [sys.executable, str(REPO / "bench" / "load.py"), "--port", str(port), "--bodies", str(bodies),
           "--concurrency", str(concurrency), "--duration", str(duration), "--warmup", str(warmup)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the git revision to compare the working tree with")
    ap.add_argument("--model-dir", type=Path, default=REPO / "models" / "gacl-cos")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--points", nargs="+", default=["1x32", "64x8"], help="SIZExCONCURRENCY")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--settings", nargs="*", default=[], help="NAME=VALUE service settings for both revisions")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    settings = dict(s.split("=", 1) for s in args.settings)
    points = [tuple(int(v) for v in p.split("x")) for p in args.points]
    card = ModelCard.load(args.model_dir)
    with tempfile.TemporaryDirectory(prefix="sketchq-ab-") as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base_tree), args.base],
                       check=True)
        try:
            sketches = load_sketches(args.data, card.classes, 4096)
            bodies = {n: write_bodies(Path(tmp) / f"score-{n}.jsonl", sketches, n) for n in {n for n, _ in points}}
            runs = []
            for rnd in range(1, args.rounds + 1):
                for name, tree in (("base", base_tree), ("new", REPO)):
                    proc, port = serve(tree, args.model_dir.resolve(), settings)
                    try:
                        for n, c in points:
                            r = drive(port, bodies[n], c, args.duration, args.warmup)
                            runs.append({"round": rnd, "revision": name, "point": f"{n}x{c}",
                                         "sketches_per_s": round(r["requests_per_s"] * n, 1), "p50_ms": r["p50_ms"]})
                            print(json.dumps(runs[-1]), file=sys.stderr)
                    finally:
                        proc.terminate()
                        proc.wait(30)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)], check=False)
    summary = {}
    for n, c in points:
        point = f"{n}x{c}"
        mean = {rev: statistics.mean(r["sketches_per_s"] for r in runs if r["point"] == point and r["revision"] == rev)
                for rev in ("base", "new")}
        summary[point] = {**{f"{k}_mean": round(v, 1) for k, v in mean.items()},
                          "new_over_base": round(mean["new"] / mean["base"], 3)}
    out = {"base": args.base, "base_commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", args.base],
                                                            capture_output=True, text=True).stdout.strip(),
           "new_commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                                        text=True).stdout.strip(),
           "settings": settings, "rounds": args.rounds, "duration_s": args.duration, "runs": runs,
           "summary": summary, "load_average_end": list(os.getloadavg())}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
