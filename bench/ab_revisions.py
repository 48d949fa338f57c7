"""Two revisions of the service under the same load, interleaved: does a change make sketchq faster?

Run-to-run conditions on a shared machine move single throughput figures by 5 % and more (bench/README.md), so a
change is judged against the revision before it in the same run: `--base` is checked out into a temporary git
worktree, and each round starts the base's server and then the working tree's (`python -m service` from each tree,
the same settings and model, `--settings` added to both and `--new-settings` to the working tree's only), drives
each through the load points with bench/load.py and stops it. With `--base HEAD` and `--new-settings` it compares
two settings of the same code. JSON to stdout and --out: per round, revision and point the sketches/s and p50;
the mean of each; the ratio new / base.

    python bench/ab_revisions.py --base HEAD~1 --points 1x32 64x8 --rounds 3 \\
        --settings workers=2 engine_workers=1 --out /tmp/ab.json
    python bench/ab_revisions.py --base HEAD --settings workers=2 engine_workers=1 --new-settings max_batch=256
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import load, load_sketches, write_bodies  # noqa: E402
from server_proc import ServerProc  # noqa: E402  (on the path through run)

from sketchprep.card import ModelCard  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the git revision to compare the working tree with")
    ap.add_argument("--model-dir", type=Path, default=REPO / "models" / "gacl")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "quickdraw")
    ap.add_argument("--points", nargs="+", default=["1x32", "64x8"], help="SIZExCONCURRENCY")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--settings", nargs="*", default=[], help="NAME=VALUE service settings for both revisions")
    ap.add_argument("--new-settings", nargs="*", default=[], help="NAME=VALUE settings for the working tree only")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    settings = dict(s.split("=", 1) for s in args.settings)
    new_settings = settings | dict(s.split("=", 1) for s in args.new_settings)
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
                for name, tree, tree_settings in (("base", base_tree, settings), ("new", REPO, new_settings)):
                    server = ServerProc(tree=tree, model_dir=args.model_dir.resolve(), cache="off", max_queue=8192,
                                        log_level="warning", **tree_settings)
                    try:
                        for n, c in points:
                            r = load(server, bodies[n], c, args.duration, args.warmup)
                            runs.append({"round": rnd, "revision": name, "point": f"{n}x{c}",
                                         "sketches_per_s": round(r["requests_per_s"] * n, 1), "p50_ms": r["p50_ms"]})
                            print(json.dumps(runs[-1]), file=sys.stderr)
                    finally:
                        server.stop()
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
           "settings": settings, "new_settings": new_settings, "rounds": args.rounds, "duration_s": args.duration,
           "runs": runs,
           "summary": summary, "load_average_end": list(os.getloadavg())}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
