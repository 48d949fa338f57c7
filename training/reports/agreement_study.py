"""The study table of issue 12: what each annotation-free lever did to agreement with people.

    sketchq-train agreement-study --runs runs/study/* --shipped models/gacl --baseline models/softmax \
        --out docs/results/agreement

Every run must have been evaluated on the validation split with the judged pairs (`sketchq-train evaluate
RUN/last.pt --split val --pairs ...`, as scripts/agreement_study.sh does). The shipped scorer and the softmax
baseline (exported folders) are scored here on the same validation split and pairs. Writes study.md,
study.json and study.png (agreement per run): agreement over agreed and clear pairs (95 % bootstrap
interval), validation top-1, AUROC of recognized vs unrecognized validation drawings (eye, mouth, monkey),
the share of sketches whose q falls below the clean one at the highest severity of each corruption, and
training CPU time. With `--mirror`, also every row's agreement on the pairs flipped left-right (the raters'
choices stand; `sketchq-train agreement --mirror`): how much of it rests on which way the drawings face.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro

from sketchprep.card import ModelCard
from training.data.splits import load_splits
from training.engine.checkpoints import METRICS_FILE, load_checkpoint
from training.engine.config import DEFAULT_DATA
from training.evaluation.agreement import (
    DEFAULT_PAIRS,
    JudgedPair,
    agreement,
    credit,
    load_pairs,
    mirrored_pairs,
    paired_difference,
    subset_masks,
)
from training.evaluation.agreement_eval import model_scores, score_pairs
from training.evaluation.stats import auroc
from training.plots import plot_agreement
from training.reports.results import epoch_records

AUROC_CATEGORIES = ("eye", "mouth", "monkey")


@dataclass
class AgreementStudyArgs:
    runs: list[Path]
    """study run folders, each evaluated into eval-val/ with the judged pairs (others are skipped)"""
    out: Path
    """folder for study.md, study.json and study.png"""
    shipped: Path = Path("models/gacl")
    """the shipped scorer's exported folder (scored on the same validation split and pairs)"""
    baseline: Path = Path("models/softmax")
    """the softmax baseline's exported folder"""
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    """sketch files or folders (the validation split is used)"""
    pairs: str = DEFAULT_PAIRS
    """judged-pairs JSONL"""
    reference: Annotated[list[str], tyro.conf.arg(metavar="REF:RUN,RUN", help_behavior_hint="(default: none)")] = \
        field(default_factory=list)
    """the paired agreement of q of these runs against REF, a run or an exported model (e.g. control:a,b)"""
    mirror: bool = False
    """add each row's agreement on the pairs flipped left-right (scores every run's last.pt again)"""


def run_cli(args: AgreementStudyArgs) -> int:
    references = {r.split(":")[0]: r.split(":")[1].split(",") for r in args.reference}
    pairs = load_pairs(args.pairs)
    agreed = subset_masks(pairs)["agree"]
    a_wins = np.array([p.consensus == "A" for p in pairs])
    rows = [exported_row(args.baseline, args.data, pairs, "max_prob"),
            exported_row(args.shipped, args.data, pairs, "q")]
    runs = [r for r in args.runs if (r / "eval-val" / "evaluation.json").exists()]
    rows += [run_row(r) for r in runs]
    if args.mirror:  # each row's model and score again, on the flipped pairs
        flipped = mirrored_pairs(pairs)
        models = [(args.baseline, "max_prob"), (args.shipped, "q"), *[(r / "last.pt", "q") for r in runs]]
        for row, (model, score) in zip(rows, models, strict=True):
            row["mirrored"] = mirrored_agreement(flipped, model, score)
    # a REF may be a run's folder name or an exported model's (e.g. gacl:full-v3 compares with the shipped)
    credits = {r["key"]: credit(r["pair_q"][0][agreed], r["pair_q"][1][agreed], a_wins[agreed]) for r in rows}
    # runs NAME-s1, NAME-s2, ... of one recipe also give a row NAME: the seeds' mean, credited per pair
    pooled = seed_pooled_rows(rows, credits)
    rows += pooled
    credits |= {r["key"]: r.pop("credit") for r in pooled}
    for ref_name, names in references.items():
        if ref_name not in credits:
            raise SystemExit(f"--reference {ref_name}: no such run or exported model among {sorted(credits)}")
        for row in rows:
            if row["key"] in names:
                row["vs"] = {"reference": ref_name} | paired_difference(credits[row["key"]], credits[ref_name])
    for row in rows:
        row.pop("pair_q", None)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "study.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "study.md").write_text(markdown(rows))
    plot_agreement(rows, args.out / "study.png")
    print(markdown(rows))
    return 0


def mirrored_agreement(flipped: list[JudgedPair], model: Path, score: str) -> dict[str, float]:
    """Agreement of `score` of a checkpoint or exported folder over agreed and clear pairs of `flipped`, the
    judged pairs with all drawings flipped left-right (`mirrored_pairs`)."""
    ag = agreement(flipped, {score: score_pairs(flipped, model)[score]})["subsets"]
    return {k: ag[k][score]["agreement"] for k in ("agree", "agree_clear")}


def seed_pooled_rows(rows: list[dict], credits: dict[str, np.ndarray]) -> list[dict]:
    """One row per recipe run with two or more seeds (folders NAME-sN): every figure is the seeds' mean, and
    its per-pair credit (N agreed pairs,) is the mean credit over seeds, so a paired difference between two
    pooled rows compares the recipes on the same pairs with the seed-to-seed variation averaged in."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        m = re.fullmatch(r"(.+)-s(\d+)", r["key"])
        if m and "cpu_seconds" in r:
            groups.setdefault(m.group(1), []).append(r)
    out = []
    for name, members in groups.items():
        if len(members) < 2:
            continue
        seeds = ",".join(r["key"].rsplit("-s", 1)[1] for r in members)

        def mean_agreement(key: str, members: list[dict] = members) -> dict:
            vals = [r[key]["agreement"] for r in members]
            return {"agreement": float(np.mean(vals)), "ci95": [float(min(vals)), float(max(vals))]}

        claimed = all(r.get("claimed") for r in members)
        out.append({"name": f"{name} (mean of seeds {seeds}; range in brackets)", "key": name,
                     "credit": np.mean([credits[r["key"]] for r in members], axis=0),
                     "top1": float(np.mean([r["top1"] for r in members])),
                     "auroc_q": float(np.mean([r["auroc_q"] for r in members])),
                     "below_clean": {k: float(np.mean([r["below_clean"][k] for r in members]))
                                     for k in members[0]["below_clean"]},
                     "agree": mean_agreement("agree"), "agree_clear": mean_agreement("agree_clear"),
                     "claimed": mean_agreement("claimed") if claimed else None,
                     "claimed_clear": mean_agreement("claimed_clear") if claimed else None,
                     **({"mirrored": {k: float(np.mean([r["mirrored"][k] for r in members]))
                                      for k in ("agree", "agree_clear")}}
                        if all("mirrored" in r for r in members) else {}),
                     "cpu_seconds": float(np.mean([r["cpu_seconds"] for r in members]))})
    return out


def cpu_seconds(run: Path) -> float:
    """Training CPU seconds of the run, plus those of the run it started from (through that epoch)."""
    total = sum(e.get("epoch_cpu_seconds", 0.0) for e in epoch_records(run))
    ck = load_checkpoint(run / "last.pt")
    init = ck["config"].get("init_from")
    if init and Path(init).parent.joinpath(METRICS_FILE).exists():
        parent_epoch = load_checkpoint(init)["epoch"]
        total += sum(e.get("epoch_cpu_seconds", 0.0) for e in epoch_records(Path(init).parent)
                     if e["epoch"] <= parent_epoch)
    return total


def run_row(run: Path) -> dict:
    s = json.loads((run / "eval-val" / "evaluation.json").read_text())["summary"]
    res = json.loads((run / "eval-val" / "agreement" / "agreement.json").read_text())
    a = res["subsets"]
    q = res["pair_scores"]["q"]
    return {"name": run.name, "key": run.name, "pair_q": (np.asarray(q["a"]), np.asarray(q["b"])),
            "top1": s["top1"],
            "auroc_q": s["auroc_recognized"]["test"]["q"],
            "below_clean": {k: v["q"]["below_clean_at_3"] for k, v in s["corruption"].items()},
            "agree": a["agree"]["q"], "agree_clear": a["agree_clear"]["q"],
            "claimed": a["agree"].get("q_claimed"), "claimed_clear": a["agree_clear"].get("q_claimed"),
            "cpu_seconds": cpu_seconds(run)}


def exported_row(model: Path, data: list[str], pairs: list[JudgedPair], score: str) -> dict:
    """Validation top-1, AUROC of `score` and agreement of `score` for an exported model folder."""
    card = ModelCard.load(model)
    _, sets = load_splits(data, card.classes, card.preprocess.config(), keep_records=True)
    val = sets["val"]
    sc, _ = model_scores(model, [r.strokes for r in val.records])
    labels = np.asarray(val.labels)
    top1 = float((sc["pred"] == labels).mean())
    pick = np.array([r.category in AUROC_CATEGORIES and r.recognized is not None for r in val.records])
    rec = np.array([bool(r.recognized) for r in val.records])
    scores = score_pairs(pairs, model)
    ag = agreement(pairs, {k: scores[k] for k in (score, "q_claimed") if k in scores})["subsets"]
    claimed = score == "q" and "q_claimed" in ag["agree"]
    return {"name": f"{model.name} (exported, {score})", "key": model.name, "pair_q": scores["q"], "top1": top1,
            "auroc_q": auroc(sc[score][pick & rec], sc[score][pick & ~rec]),
            "agree": ag["agree"][score], "agree_clear": ag["agree_clear"][score],
            "claimed": ag["agree"]["q_claimed"] if claimed else None,
            "claimed_clear": ag["agree_clear"]["q_claimed"] if claimed else None}


def markdown(rows: list[dict]) -> str:
    mirror = any("mirrored" in r for r in rows)
    lines = ["| run | agreement of q, raters agree [95 % CI] | both clear | q cos theta_y: agree / clear | "
             + ("pairs mirrored: agree / clear | " if mirror else "")
             + "paired difference [95 % CI] | val top-1 | AUROC q (val) | q below clean at sev. 3: jitter / drop / "
             "scribble | training CPU min |",
             "|---|---|---|---|---|---|---|---|---|" + ("---|" if mirror else "")]
    for r in rows:
        ag, cl = r["agree"], r["agree_clear"]
        corr = " / ".join(f"{r['below_clean'][k]:.3f}" for k in ("jitter", "drop", "scribble")) \
            if r.get("below_clean") else ""
        cpu = f"{r['cpu_seconds'] / 60:.0f}" if r.get("cpu_seconds") else ""
        claimed = f"{r['claimed']['agreement']:.3f} / {r['claimed_clear']['agreement']:.3f}" \
            if r.get("claimed") else ""
        vs = r.get("vs")
        diff = f"{vs['diff']:+.3f} [{vs['ci95'][0]:+.3f}, {vs['ci95'][1]:+.3f}] vs {vs['reference']}" if vs else ""
        m = r.get("mirrored")
        flipped = (f"{m['agree']:.3f} / {m['agree_clear']:.3f} | " if m else " | ") if mirror else ""
        lines.append(f"| {r['name']} | {ag['agreement']:.3f} [{ag['ci95'][0]:.3f}, {ag['ci95'][1]:.3f}] | "
                     f"{cl['agreement']:.3f} | {claimed} | {flipped}{diff} | {r['top1']:.4f} | {r['auroc_q']:.3f} | "
                     f"{corr} | {cpu} |")
    return "\n".join(lines) + "\n"
