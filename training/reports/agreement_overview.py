"""Every training run of the issue-12 study in one figure and one table: where each recipe landed.

    sketchq-train agreement-overview --studies docs/results/agreement --out docs/results/agreement/overview

Reads the study tables already written (`*/study.json` under --studies, from `sketchq-train agreement-study`)
and nothing else: no run folder or model is needed, so the overview can be redrawn from the committed results
on any machine. A recipe is a run's name without its seed (`full-mul-oe-s3` -> `full-mul-oe`); each distinct
training of it is one point (a seed retrained on another machine, with other numbers, counts as a training of
its own; the same run listed in several tables counts once). Rows without a seed (the exported models, the
seed-pooled rows, the continuation runs of the first study) are not trainings of a recipe and are left out.
The shipped scorer's agreement comes from its model card (`metrics.agreement`) as the reference line.

Writes overview.md (per recipe: trainings, mean and range of agreement over agreed and clear pairs, mean
top-1, AUROC and scribble check) and overview.png (every training as a dot, the recipe means, the targets).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sketchprep.card import CARD_FILE
from training.evaluation.agreement import TARGETS
from training.plots import plot_agreement_overview

SEEDED = re.compile(r"^(?P<recipe>.+)-s(?P<seed>\d+)$")


@dataclass
class AgreementOverviewArgs:
    out: Path
    """folder for overview.md and overview.png"""
    studies: Path = Path("docs/results/agreement")
    """folder whose subfolders hold study.json files (sketchq-train agreement-study)"""
    shipped: Path = Path("models/gacl")
    """the shipped scorer's exported folder (its card's agreement is drawn as the reference)"""


@dataclass(frozen=True)
class Training:
    recipe: str
    seed: int
    agree: float
    clear: float
    top1: float | None
    auroc: float | None
    scribble: float | None


def collect(studies: Path) -> list[Training]:
    """Distinct trainings of every recipe in the study tables under `studies`."""
    files = sorted(studies.glob("*/study.json"))
    if not files:
        raise FileNotFoundError(f"no */study.json under {studies}")
    seen: dict[tuple[str, int, float, float], Training] = {}
    for f in files:
        for row in json.loads(f.read_text()):
            if (m := SEEDED.match(row.get("key", row["name"]))) is None:
                continue
            agree, clear = row["agree"]["agreement"], row["agree_clear"]["agreement"]
            t = Training(m["recipe"], int(m["seed"]), agree, clear, row.get("top1"), row.get("auroc_q"),
                         (row.get("below_clean") or {}).get("scribble"))
            seen.setdefault((t.recipe, t.seed, round(agree, 6), round(clear, 6)), t)
    return list(seen.values())


def shipped_reference(model_dir: Path) -> tuple[str, float, float]:
    """(label, agreement on agreed pairs, on clear pairs) of the shipped scorer, from its model card."""
    card = json.loads((model_dir / CARD_FILE).read_text())
    agreement = card["metrics"]["agreement"]
    checkpoint = Path(card["metrics"].get("checkpoint", "")).parent.name
    label = f"shipped v{card['version']}" + (f" ({checkpoint})" if checkpoint else "")
    return label, agreement["agree"]["q"], agreement["agree_clear"]["q"]


def by_recipe(trainings: list[Training]) -> dict[str, list[Training]]:
    """recipe -> its trainings, recipes ordered by mean agreement on the agreed pairs, best first."""
    groups: dict[str, list[Training]] = {}
    for t in trainings:
        groups.setdefault(t.recipe, []).append(t)
    return dict(sorted(groups.items(), key=lambda kv: -float(np.mean([t.agree for t in kv[1]]))))


def _mean(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{np.mean(known):.3f}" if known else ""


def markdown(groups: dict[str, list[Training]], shipped: tuple[str, float, float]) -> str:
    lines = ["| recipe | trainings | agreed pairs: mean (range) | clear pairs: mean (range) | top-1 (val) | "
             "AUROC q | scribble below clean |", "|---|---|---|---|---|---|---|"]
    for recipe, ts in groups.items():
        ag, cl = [t.agree for t in ts], [t.clear for t in ts]
        lines.append(f"| {recipe} | {len(ts)} | {np.mean(ag):.3f} ({min(ag):.3f}-{max(ag):.3f}) | "
                     f"{np.mean(cl):.3f} ({min(cl):.3f}-{max(cl):.3f}) | {_mean([t.top1 for t in ts])} | "
                     f"{_mean([t.auroc for t in ts])} | {_mean([t.scribble for t in ts])} |")
    label, agree, clear = shipped
    return (f"Targets: agreed pairs >= {TARGETS['agree']}, clear pairs >= {TARGETS['agree_clear']}. "
            f"{label}: {agree:.3f} / {clear:.3f}.\n\n" + "\n".join(lines) + "\n")


def run_cli(args: AgreementOverviewArgs) -> int:
    trainings = collect(args.studies)
    groups = by_recipe(trainings)
    shipped = shipped_reference(args.shipped)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "overview.md").write_text(markdown(groups, shipped))
    plot_agreement_overview({r: [(t.agree, t.clear) for t in ts] for r, ts in groups.items()}, shipped,
                            args.out / "overview.png")
    print(f"{len(trainings)} trainings of {len(groups)} recipes -> {args.out}/overview.md, overview.png")
    return 0
