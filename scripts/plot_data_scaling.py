"""Agreement with people against the training drawings per category (issue 12, scripts/data_scaling.sh): one
point per run, read from each run's evaluation (RUN/eval-val/agreement/agreement.json, evaluation.json); the
drawings per category of each run are given with it. Writes a PNG and prints a JSON table.

    python scripts/plot_data_scaling.py --out docs/results/agreement/data-scaling/data_scaling.png \\
        --run 250=runs/study/scale-mul-c250-s1 --run 500=runs/study/scale-mul-c500-s1 \\
        --run 1492=runs/study/full-kind-mul-s1 --run 1492=runs/study/full-kind-mul-s2 ...

X is the mean number of training drawings per category of the run (for a cap, the cap where every category
has that many; for the uncapped data, 32,824 / 22 = 1,492).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

PAPER = 7000  # the paper's training drawings per category (Sec. 4)
TARGETS = {"agree": 0.75, "clear": 0.85}  # issue 12


def read(run: Path) -> dict:
    subsets = json.loads((run / "eval-val" / "agreement" / "agreement.json").read_text())["subsets"]
    ev = json.loads((run / "eval-val" / "evaluation.json").read_text())
    return {"run": run.name, "agree": subsets["agree"]["q"]["agreement"], "ci95": subsets["agree"]["q"]["ci95"],
            "clear": subsets["agree_clear"]["q"]["agreement"], "top1": ev["summary"].get("top1"),
            "ink_length": subsets["agree"]["ink_length"]["agreement"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", required=True, help="DRAWINGS_PER_CATEGORY=RUN_FOLDER[:LABEL]")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows = []
    for spec in args.run:
        x, rest = spec.split("=", 1)
        path, _, label = rest.partition(":")
        rows.append({"per_category": float(x), "label": label or "GACL-Mul", **read(Path(path))})
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = sorted((r for r in rows if r["label"] == label), key=lambda r: r["per_category"])
        xs = [r["per_category"] for r in mine]
        ax.errorbar(xs, [r["agree"] for r in mine], fmt="o", capsize=3, label=f"{label}: raters agree",
                    yerr=[[r["agree"] - r["ci95"][0] for r in mine], [r["ci95"][1] - r["agree"] for r in mine]])
        ax.plot(xs, [r["clear"] for r in mine], "s", mfc="none", label=f"{label}: both clear")
    fits = {}
    for key, colour in (("agree", "tab:blue"), ("clear", "tab:orange")):
        xs = np.log2([r["per_category"] for r in rows])
        if len(set(xs)) >= 3:  # agreement = a + b log2(drawings per category), least squares over every run
            b, a = np.polyfit(xs, [r[key] for r in rows], 1)
            grid = np.linspace(np.log2(min(r["per_category"] for r in rows)), np.log2(PAPER), 50)
            ax.plot(2**grid, a + b * grid, "--", c=colour, lw=0.8)
            target = TARGETS[key]
            fits[key] = {"intercept_at_1": round(float(a), 4), "per_doubling": round(float(b), 4),
                         "at_paper_7000": round(float(a + b * np.log2(PAPER)), 3),
                         "drawings_for_target": round(float(2 ** ((target - a) / b))) if b > 0 else None}
    ax.axhline(TARGETS["agree"], ls="--", c="grey", lw=0.8)
    ax.axhline(TARGETS["clear"], ls=":", c="grey", lw=0.8)
    ax.axvline(PAPER, c="grey", lw=0.6)
    ax.text(PAPER, TARGETS["clear"], "paper ", rotation=90, va="top", ha="right", fontsize=7)
    ax.axhline(rows[0]["ink_length"], ls="-.", c="tab:red", lw=0.8, label="total ink length (raters agree)")
    ax.set_xscale("log")
    ax.set_xticks([125, 250, 500, 1000, 2000, 4000, PAPER])
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training drawings per category (log)")
    ax.set_ylabel("agreement of q with the raters")
    ax.set_title("Agreement against data per category (22 categories, same steps)\n"
                 "dashed: log-linear fit over the runs, extended", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(json.dumps({"runs": rows, "log_linear_fit": fits}, indent=1))


if __name__ == "__main__":
    main()
