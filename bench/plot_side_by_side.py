"""The side-by-side benchmark as a picture: sketches/s of every stack at every load point (the rounds as
ticks), the engine ceiling as a line, and p50 latency beneath.

    python bench/plot_side_by_side.py bench/results-side-by-side.json docs/results/side_by_side.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"sketchq": "#1f77b4", "triton": "#76b900", "naive": "#999999"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    r = json.loads(args.results.read_text())
    points = list(r["summary"])
    stacks = [s for s in ("sketchq", "triton", "naive") if all(s in r["summary"][p] for p in points)]
    ceiling = r["ceiling"]["best"]["sketches_per_s"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), height_ratios=[2, 1], sharex=True)
    width = 0.8 / len(stacks)
    for k, stack in enumerate(stacks):
        xs = [i + (k - (len(stacks) - 1) / 2) * width for i in range(len(points))]
        rows = [r["summary"][p][stack] for p in points]
        top.bar(xs, [row["sketches_per_s"] for row in rows], width, label=stack, color=COLOURS[stack])
        for x, row in zip(xs, rows, strict=True):
            top.scatter([x] * len(row["rounds"]), row["rounds"], s=8, color="black", zorder=3)
        bottom.bar(xs, [row["p50_ms"] for row in rows], width, color=COLOURS[stack])
    top.axhline(ceiling, color="red", linestyle="--", linewidth=1)
    top.text(len(points) - 0.5, ceiling, f"engine alone {ceiling:,.0f}/s", color="red", ha="right", va="bottom")
    top.set_ylabel("sketches / s (bar: mean, dots: rounds)")
    top.legend(loc="upper left")
    top.set_title("POST /score on 2 CPU cores: sketchq vs Triton (PyTriton) vs a naive FastAPI + ORT server")
    bottom.set_yscale("log")
    bottom.set_ylabel("p50 latency, ms (log)")
    bottom.set_xticks(range(len(points)), [p.replace("x", " sketch(es) x c=") for p in points], fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()
