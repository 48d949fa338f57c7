"""Calibrate the attribution rule of an exported model and write it into its model card.

    sketchq-train calibrate models/gacl --data ../shared/data/quickdraw

Procedure (validation data only; the test split is kept for evaluation, scripts/eval_attribution.py):
1. Build an attribution set from the validation split (training.data.attribution_set): benign real sketches,
   malicious scribbles, rare-and-hard sketches (real + 1-3 outlier groups), `n` of each.
2. Run the greedy q-guided stroke removal on every case once without thresholds and without a minimum
   gain (every step removes the stroke whose removal raises q most, up to MAX_REMOVALS), keeping q and
   the cosines after each removal. A smaller max_removals or a larger min_gain only cuts this path
   short, and thresholds only read it, so every setting below is evaluated without searching again.
3. The score rule (sketchprep.attribution.Rule): a logistic regression of "drawn, not scribbled"
   (benign and rare_hard cases against malicious ones) on the angle features of the sketches as sent
   (log q and class-agnostic statistics of the cosine profile; standardised, L2 penalty L2).
4. Grid search, for the best F1 of the malicious class: max_removals 1..MAX_REMOVALS, min_gain in
   MIN_GAINS (q units), and the score threshold `max` (every value reached on the set). Ties go to fewer
   removals. Then `tau` >= max is the threshold that best tells benign from rare_hard cases.
5. The paper's q rule (used when a request sets q_tau / q_max): per-class q_tau / q_max = the a-th / b-th
   percentile of the class's validation q (the card's quality_percentiles), a <= b in steps of 5, best
   malicious F1 with the chosen max_removals and min_gain.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro

from sketchprep.attribution import ANGLE_FEATURES, Eval, Rule, angle_features, attribute
from sketchprep.card import AttributionThresholds, QThresholds, ScoreRuleBlock
from training.data.attribution_set import AttributionCase, build_attribution_set
from training.data.splits import load_splits
from training.engine.config import DEFAULT_DATA
from training.evaluation.stats import auroc
from training.export.runtime import OnnxScorer

MAX_REMOVALS = 5
MIN_GAINS = (0.0, 0.5, 1.0, 2.0)
L2 = 1e-3


@dataclass
class CalibrateArgs:
    model_dir: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="MODEL_DIR")]
    """exported model folder whose card gets the calibrated thresholds.attribution"""
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    """sketch files or folders (the validation split is used)"""
    n: int = 300
    """attribution cases per label (benign, rare_hard, malicious)"""
    seed: int = 0
    """seed of the attribution set"""


def run_cli(args: CalibrateArgs) -> int:
    block = calibrate_attribution(Path(args.model_dir), args.data, args.n, args.seed)
    print(json.dumps({k: v for k, v in block.model_dump().items() if k != "per_class"}, indent=1))
    return 0


def paths(scorer: OnnxScorer, cases: list[AttributionCase], max_removals: int = MAX_REMOVALS) -> list[list[Eval]]:
    """Per case: the sketch as sent, then after each greedy removal (no thresholds, no minimum gain)."""
    never = Rule("q", float("inf"), float("inf"))
    out = []
    for c in cases:
        r = asyncio.run(attribute(c.strokes, scorer.score, lambda _: never, max_removals, -float("inf")))
        (e0,) = scorer.score_now([c.strokes])
        out.append([e0, *r.path])
    return out


def accepted(path: list[Eval], max_removals: int, min_gain: float) -> list[Eval]:
    """The part of a full path that a search with these settings accepts (the sketch as sent first)."""
    out = [path[0]]
    for e in path[1 : max_removals + 1]:
        if e.q - out[-1].q <= min_gain:
            break
        out.append(e)
    return out


def f1(pred: Sequence[str], truth: Sequence[str], positive: str = "malicious") -> float:
    tp = sum(p == positive and t == positive for p, t in zip(pred, truth, strict=True))
    fp = sum(p == positive and t != positive for p, t in zip(pred, truth, strict=True))
    fn = sum(p != positive and t == positive for p, t in zip(pred, truth, strict=True))
    return 2 * tp / max(1, 2 * tp + fp + fn)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, iters: int = 4000, lr: float = 0.5
                 ) -> tuple[np.ndarray, float]:
    """Weights and bias on the raw features (fitted on standardised ones by gradient descent)."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= lr * (z.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float((p - y).mean())
    return w / sd, float(b - (w / sd) @ mu)


def best_threshold(best_values: np.ndarray, truth: list[str]) -> tuple[float, float]:
    """(F1, t): malicious iff best value < t, over every reached value (and one above all)."""
    mal = np.array([t == "malicious" for t in truth])
    cands = np.unique(np.r_[best_values, best_values.max() + 1e-6])
    scores = [2 * (m & mal).sum() / (m.sum() + mal.sum()) for m in (best_values[None, :] < cands[:, None])]
    k = int(np.argmax(scores))
    return float(scores[k]), float(cands[k])


def calibrate_score(full: list[list[Eval]], truth: list[str]) -> dict:
    x0 = np.stack([angle_features(p[0].q, p[0].cos) for p in full])
    w, b = fit_logistic(x0, np.array([t != "malicious" for t in truth], dtype=float))
    rule = Rule("score", 0.0, 0.0, tuple(w.tolist()), b)
    best: tuple = (-1.0,)
    for k in range(1, MAX_REMOVALS + 1):
        for g in MIN_GAINS:
            vals = np.array([max(rule.value(e) for e in accepted(p, k, g)) for p in full])
            score, t = best_threshold(vals, truth)
            if score > best[0] + 1e-9:
                best = (score, t, k, g)
    score, t_max, k, g = best
    v0 = np.array([rule.value(p[0]) for p in full])
    non_mal = np.array([t != "malicious" for t in truth])
    is_benign = np.array([t == "benign" for t in truth])
    taus = np.unique(np.r_[t_max, v0[v0 >= t_max]])
    acc = [((v0[non_mal] >= tau) == is_benign[non_mal]).mean() for tau in taus]
    return {"features": list(ANGLE_FEATURES), "weights": w.tolist(), "bias": b, "max": t_max,
            "tau": float(taus[int(np.argmax(acc))]), "max_removals": k, "min_gain": g, "malicious_f1": score}


def generator_holdout(full: list[list[Eval]], cases: list[AttributionCase]) -> dict:
    """Does the score generalise to scribbles it was not fitted on? Per malicious generator: refit without
    it, then AUROC of the sketch-as-sent score of non-malicious cases against that generator's (and
    against the generators it was fitted on)."""
    x0 = np.stack([angle_features(p[0].q, p[0].cos) for p in full])
    y = np.array([c.label != "malicious" for c in cases], dtype=float)
    gen = np.array([c.generator if c.label == "malicious" else "" for c in cases])
    out = {}
    for g in sorted(set(gen) - {""}):
        w, b = fit_logistic(x0[gen != g], y[gen != g])
        v = x0 @ w + b
        out[g] = {"held_out": auroc(v[y == 1], v[gen == g]), "fitted_on": auroc(v[y == 1], v[(y == 0) & (gen != g)])}
    return out


def calibrate_q(scorer: OnnxScorer, full: list[list[Eval]], truth: list[str], k: int, g: float) -> dict:
    n = len(scorer.card.classes)
    table = np.array([[scorer.percentile_q(c, a) for a in range(0, 101, 5)] for c in range(n)])  # (C, 21)
    cls = np.array([p[0].cls for p in full])
    q0 = np.array([p[0].q for p in full])
    qbest = np.array([max(e.q for e in accepted(p, k, g)) for p in full])
    best = (-1.0, 0, 0)
    for a in range(21):
        for b in range(a, 21):
            pred = np.where(q0 >= table[cls, a], "benign", np.where(qbest >= table[cls, b], "rare_hard", "malicious"))
            score = f1(list(pred), truth)
            if score > best[0]:
                best = (score, a, b)
    score, a, b = best
    classes = scorer.card.classes
    q_benign = [q for q, t in zip(q0, truth, strict=True) if t == "benign"]
    return {"q_tau": float(np.percentile(q_benign, 5 * a)), "q_max": float(np.percentile(q_benign, 5 * b)),
            "per_class": {c: {"q_tau": float(table[i, a]), "q_max": float(table[i, b])} for i, c in enumerate(classes)},
            "percentiles": {"q_tau": 5 * a, "q_max": 5 * b}, "malicious_f1": score}


def calibrate_attribution(model_dir: Path, data: list[str], n: int, seed: int) -> AttributionThresholds:
    """The calibrated thresholds.attribution, written into the model's card; -> the block."""
    scorer = OnnxScorer(model_dir)
    _, sets = load_splits(data, scorer.card.classes, scorer.pre, keep_records=True)
    cases = build_attribution_set([(r.strokes, r.category) for r in sets["val"].records], n, seed)
    truth = [c.label for c in cases]
    full = paths(scorer, cases)
    s = calibrate_score(full, truth)
    q = calibrate_q(scorer, full, truth, s["max_removals"], s["min_gain"])
    block = AttributionThresholds(
        rule="score",
        score=ScoreRuleBlock(**{k: s[k] for k in ("features", "weights", "bias", "tau", "max")}),
        q_tau=q["q_tau"], q_max=q["q_max"],
        per_class={c: QThresholds(**t) for c, t in q["per_class"].items()}, percentiles=q["percentiles"],
        max_removals=s["max_removals"], min_gain=s["min_gain"],
        calibration={"split": "val", "cases_per_label": n, "seed": seed, "malicious_f1": s["malicious_f1"],
                     "malicious_f1_q_rule": q["malicious_f1"],
                     "generator_holdout_auroc": generator_holdout(full, cases)},
        procedure="score rule: logistic regression of drawn-vs-scribbled on log q and cosine-profile "
                  "statistics, then max_removals, min_gain and the score thresholds by grid search for the "
                  "best malicious F1 on a validation attribution set; q rule (request overrides): per-class "
                  "percentiles of validation q by the same search (training/export/calibrate_attribution.py)")
    scorer.card.thresholds.attribution = block
    scorer.card.save(model_dir)
    return block
