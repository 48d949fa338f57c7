"""`sketchq-train evaluate`: accuracy, per-class q, q-vs-theta plot, recognized-vs-not AUROC and the
corruption monotonicity test, for one checkpoint. Writes evaluation.json, evaluation.md, scores.npz and
q_vs_theta.png into the output folder. The scores compared are training.engine.predict.SCORES.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro

from sketchprep.preprocess import PreprocessConfig
from training.data.corrupt import KINDS, corruption_series
from training.data.splits import SketchSet, load_splits
from training.engine.checkpoints import load_net, probability_scale
from training.engine.config import DEFAULT_DATA
from training.engine.predict import SCORES, predict, score_strokes, scores_from_outputs
from training.evaluation.agreement import DEFAULT_PAIRS
from training.evaluation.agreement_eval import run as run_agreement
from training.evaluation.agreement_eval import summary as agreement_summary
from training.evaluation.stats import auroc
from training.model.network import SketchQualityNet
from training.plots import plot_q_vs_theta

AUROC_CATEGORIES = ("eye", "mouth", "monkey")  # the categories with enough unrecognised drawings in the data

Readout = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]  # score_strokes' outputs -> named scores


def default_readout(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: out[k] for k in SCORES}


@dataclass
class EvaluateArgs:
    checkpoint: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="CHECKPOINT")]
    """the checkpoint to evaluate (runs/x/last.pt)"""
    out: str
    """folder for evaluation.json, evaluation.md, scores.npz and the plots"""
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    """sketch files or folders"""
    split: str = "test"
    """the split to evaluate on (val while choosing, test once)"""
    auroc_categories: list[str] = field(default_factory=lambda: list(AUROC_CATEGORIES))
    """categories whose recognized and unrecognized drawings the AUROC separates"""
    corruption_sample: int = 1000
    """sketches of the split corrupted at each severity"""
    seed: int = 0
    """seed of the corruption sample and noise"""
    pairs: str = DEFAULT_PAIRS
    """judged-pairs JSONL for the agreement with people ('' or a missing file: skipped)"""
    baseline: str | None = None
    """softmax baseline (checkpoint or exported folder) for the agreement table"""


def run_cli(args: EvaluateArgs) -> int:
    pairs = args.pairs if args.pairs and Path(args.pairs).is_file() else None
    if args.pairs and pairs is None:
        print(f"note: no judged pairs at {args.pairs}: agreement skipped", file=sys.stderr)
    result = evaluate_checkpoint(args.checkpoint, args.data, args.out, args.split, args.auroc_categories,
                                 args.corruption_sample, args.seed, pairs, args.baseline)
    print(json.dumps(result["summary"], indent=2))
    return 0


def recognized_auroc(net: SketchQualityNet, sets: dict[str, SketchSet], splits: tuple[str, ...],
                     categories: Sequence[str], pre: PreprocessConfig, s: float,
                     readout: Readout = default_readout) -> dict:
    """AUROC of each score (the SCORES, or those `readout` derives from score_strokes' outputs) separating
    recognized=true from recognized=false drawings of `categories`."""
    recs = [r for sp in splits for r in sets[sp].records
            if r.category in categories and r.recognized is not None]
    sc = readout(score_strokes(net, [r.strokes for r in recs], pre, s))
    cat = np.array([r.category for r in recs])
    pos = np.array([bool(r.recognized) for r in recs])
    out: dict = {"splits": list(splits), "n_recognized": int(pos.sum()), "n_unrecognized": int((~pos).sum())}
    groups = {"pooled": np.ones(len(recs), bool)} | {c: cat == c for c in categories}
    for name, m in groups.items():
        out[name] = {k: auroc(sc[k][m & pos], sc[k][m & ~pos]) for k in sc}
        out[name]["n_unrecognized"] = int((m & ~pos).sum())
    out["_scores"] = {k: v.tolist() for k, v in sc.items()} | {"recognized": pos.tolist()}
    return out


def corruption_test(net: SketchQualityNet, data: SketchSet, n: int, pre: PreprocessConfig, s: float,
                    seed: int, readout: Readout = default_readout) -> dict:
    """Fraction of sketches whose score falls monotonically over severities 1-3 (and at severity 3), for the
    SCORES, or for the scores `readout` derives from score_strokes' outputs."""
    read = readout
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(data), size=min(n, len(data)), replace=False)
    clean = read(score_strokes(net, [data.records[i].strokes for i in pick], pre, s))
    out = {}
    for kind in KINDS:
        series, keep = [], []
        for j, i in enumerate(pick):
            ser = corruption_series(data.records[i].strokes, kind, rng)
            if ser is not None:
                series.extend(ser)
                keep.append(j)
        sc = read(score_strokes(net, series, pre, s))
        res: dict = {"n": len(keep)}
        for k in sc:
            levels = np.stack([clean[k][keep]] + [sc[k][lvl::3] for lvl in range(3)], axis=1)  # (n, 4)
            res[k] = {"monotone": float((np.diff(levels, axis=1) < 0).all(1).mean()),
                      "below_clean_at_3": float((levels[:, 3] < levels[:, 0]).mean())}
        out[kind] = res
    return out


def per_class_q(q: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    return {c: {"n": int((labels == i).sum()),
                **{f"p{p}": float(np.percentile(q[labels == i], p)) for p in (5, 25, 50, 75, 95)}}
            for i, c in enumerate(classes) if (labels == i).any()}


def evaluate_checkpoint(checkpoint: str, data: list[str], out_dir: str, split: str = "test",
                        auroc_categories: list[str] | None = None, corruption_sample: int = 1000,
                        seed: int = 0, pairs: str | None = None, baseline: str | None = None) -> dict:
    """`pairs`: a judged-pairs file; when given, agreement with its raters (training.evaluation.agreement_eval, with
    `baseline` as the softmax baseline) goes into the summary and `out_dir/agreement/`."""
    net, ck = load_net(checkpoint)
    pre = PreprocessConfig.from_dict(ck["preprocess"])
    s = probability_scale(ck)
    classes, sets = load_splits(data, ck["classes"], pre, keep_records=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    f, cos = predict(net, sets[split])
    sc = scores_from_outputs(f, cos, s)
    labels = np.asarray(sets[split].labels)
    theta = np.arccos(np.clip(cos.numpy()[np.arange(len(labels)), labels], -1, 1))
    plot_q_vs_theta(sc["q"], theta, out / "q_vs_theta.png", title=f"{ck['head']} ({split} split)")
    cats = [c for c in (auroc_categories or []) if c in classes]
    auc_test = recognized_auroc(net, sets, (split,), cats, pre, s)
    auc_vt = recognized_auroc(net, sets, ("val", split), cats, pre, s)
    corr = corruption_test(net, sets[split], corruption_sample, pre, s, seed)
    acc = float((sc["pred"] == labels).mean())
    summary = {
        "checkpoint": str(checkpoint), "head": ck["head"], "split": split, "n": len(labels), "top1": acc,
        "q": {"p5": float(np.percentile(sc["q"], 5)), "median": float(np.median(sc["q"])),
              "p95": float(np.percentile(sc["q"], 95))},
        "corr_q_theta": float(np.corrcoef(sc["q"], theta)[0, 1]),
        "auroc_recognized": {sp: {k: a["pooled"][k] for k in SCORES}
                             for sp, a in (("test", auc_test), ("val+test", auc_vt))},
        "corruption": {kind: {k: corr[kind][k] for k in SCORES} for kind in KINDS},
    }
    if pairs:
        summary["agreement"] = agreement_summary(run_agreement(checkpoint, pairs, str(out / "agreement"),
                                                               baseline))
    np.savez(out / "scores.npz", **{f"auroc_{k}": np.asarray(v) for k, v in auc_vt.pop("_scores").items()})
    auc_test.pop("_scores")
    result = {"summary": summary, "per_class_q": per_class_q(sc["q"], labels, classes),
              "auroc_recognized": {"test": auc_test, "val+test": auc_vt}, "corruption": corr}
    (out / "evaluation.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "evaluation.md").write_text(markdown_summary(summary, auc_test, auc_vt))
    return result


def markdown_summary(summary: dict, auc_test: dict, auc_vt: dict) -> str:
    lines = [f"# Evaluation of `{summary['checkpoint']}` ({summary['head']})", "",
             f"- top-1 on {summary['split']} ({summary['n']} sketches): **{summary['top1']:.4f}**",
             f"- q p5 / median / p95: {summary['q']['p5']:.2f} / {summary['q']['median']:.2f} / "
             f"{summary['q']['p95']:.2f}; corr(q, theta to true class) = {summary['corr_q_theta']:.3f}",
             *([f"- agreement of q with the judged pairs: {a['agree']['q']:.3f} (raters agree, n "
                f"{a['agree']['n']}), {a['agree_clear']['q']:.3f} (both clear, n {a['agree_clear']['n']}); "
                "details in agreement/agreement.md"] if (a := summary.get("agreement")) else []), "",
             "## AUROC, recognized vs unrecognized", "",
             "| group | splits | unrecognized | q | max_prob | max_cos |", "|---|---|---|---|---|---|"]
    for a in (auc_test, auc_vt):
        for g, v in a.items():
            if isinstance(v, dict) and "q" in v:
                lines.append(f"| {g} | {'+'.join(a['splits'])} | {v['n_unrecognized']} | {v['q']:.3f} | "
                             f"{v['max_prob']:.3f} | {v['max_cos']:.3f} |")
    lines += ["", "## Corruptions: fraction of sketches whose score falls at every severity step "
              "(and is below the clean score at severity 3)", "",
              "| corruption | q | max_prob | max_cos |", "|---|---|---|---|"]
    for kind, v in summary["corruption"].items():
        lines.append(f"| {kind} | " + " | ".join(
            f"{v[k]['monotone']:.3f} ({v[k]['below_clean_at_3']:.3f})" for k in SCORES) + " |")
    return "\n".join(lines) + "\n"
