"""What limits attribution (issue 4)? Two measurements on the attribution sets, no service needed.

    python scripts/attribution_ablation.py --model models/gacl --softmax-model models/softmax \
        --out docs/results/attribution_ablation.json

1. **Which stroke goes first.** On the rare-and-hard cases of the test set: the fraction whose first removed
   stroke is an injected one, for three ways of choosing it: the stroke whose removal raises q most (the paper's
   greedy step, what the service does), the one whose removal raises the calibrated score most, and the most
   negative per-stroke effect of a ridge regression of log q on which strokes are kept, over `--subsets`
   random subsets (each stroke kept with probability 0.7; a KernelSHAP-like estimate, scored in one batch).
   The share of injected strokes among all strokes is the chance level.
2. **What the verdict can see.** A logistic "drawn, not scribbled" score is fitted on the validation set
   (seed 0, as training/export/calibrate_attribution.py) on several feature sets; its threshold is the best-F1 one on
   validation; the malicious F1 is then measured on the test set (seed 1, as scripts/eval_attribution.py).
   Feature sets: the card's angle features of the sketch as sent; plus log stroke count; plus the same features
   after the greedy one-stroke removal; plus test-time augmentation (the sketch as sent and the cleaned one under
   `--tta` random rotations of +-10 degrees and axis scalings of +-10%, the training augmentation: the share that
   keep the predicted class, the std of log q, the mean max cosine); plus the softmax baseline's angle features
   (a second model).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sketchprep.attribution import Eval, angle_features
from training.data.attribution_set import AttributionCase, build_attribution_set
from training.data.splits import load_splits
from training.export.calibrate_attribution import best_threshold, fit_logistic
from training.export.runtime import OnnxScorer


def greedy_first(scorer: OnnxScorer, case: AttributionCase) -> tuple[Eval, list[tuple[int, Eval]]]:
    """(the sketch as sent, every one-stroke-removed variant as (removed index, its evaluation))."""
    (e0,) = scorer.score_now([case.strokes])
    n = len(case.strokes)
    if n <= 1:
        return e0, []
    evals = scorer.score_now([[s for j, s in enumerate(case.strokes) if j != i] for i in range(n)])
    return e0, list(enumerate(evals))


def subset_effects(scorer: OnnxScorer, case: AttributionCase, m: int, keep: float, rng: np.random.Generator
                   ) -> np.ndarray:
    """(n,) ridge coefficients of log q on stroke-kept indicators over m random subsets."""
    n = len(case.strokes)
    z = rng.random((m, n)) < keep  # (m, n)
    z[z.sum(1) == 0, 0] = True
    evals = scorer.score_now([[case.strokes[j] for j in np.flatnonzero(row)] for row in z])
    y = np.log([max(e.q, 1e-6) for e in evals])  # (m,)
    a = np.c_[z.astype(float), np.ones(m)]  # (m, n + 1)
    return np.linalg.solve(a.T @ a + 1e-2 * np.eye(n + 1), a.T @ y)[:n]


First = tuple[Eval, list[tuple[int, Eval]]]  # greedy_first's answer for one case


def removal_choice(scorer: OnnxScorer, cases: list[AttributionCase], firsts: list[First],
                   value: Callable[[Eval], float], subsets: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    hits: dict[str, list[bool]] = {"greedy_q": [], "greedy_score": [], "subset_regression": []}
    chance = []
    for c, (_, variants) in zip(cases, firsts, strict=True):
        if c.label != "rare_hard" or len(c.strokes) <= 1:
            continue
        hits["greedy_q"].append(max(variants, key=lambda t: t[1].q)[0] in c.injected)
        hits["greedy_score"].append(max(variants, key=lambda t: value(t[1]))[0] in c.injected)
        hits["subset_regression"].append(int(np.argmin(subset_effects(scorer, c, subsets, 0.7, rng))) in c.injected)
        chance.append(len(c.injected) / len(c.strokes))
    return {"cases": len(chance), "chance": float(np.mean(chance)),
            **{k: float(np.mean(v)) for k, v in hits.items()}}


def tta_features(scorer: OnnxScorer, strokes: list[np.ndarray], cls: int, k: int, rng: np.random.Generator
                 ) -> np.ndarray:
    """(3,): share of k augmented copies that keep class `cls`, std of their log q, mean of their max cosine."""
    copies = []
    for _ in range(k):
        a = np.deg2rad(rng.uniform(-10, 10))
        m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * rng.uniform(0.9, 1.1, 2)  # (2, 2)
        copies.append([np.asarray(s, dtype=float) @ m.T for s in strokes])
    evals = scorer.score_now(copies)
    log_q = np.log([max(e.q, 1e-6) for e in evals])
    return np.array([np.mean([e.cls == cls for e in evals]), log_q.std(), np.mean([e.cos.max() for e in evals])])


def case_features(scorer: OnnxScorer, second: OnnxScorer | None, cases: list[AttributionCase],
                  firsts: list[First], tta: int) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for c, (e0, variants) in zip(cases, firsts, strict=True):
        i1, e1 = max(variants, key=lambda t: t[1].q) if variants else (None, e0)
        cleaned = [s for j, s in enumerate(c.strokes) if j != i1]
        f = {"as_sent": angle_features(e0.q, e0.cos), "after_one": angle_features(e1.q, e1.cos),
             "log_strokes": np.array([np.log(len(c.strokes))]),
             "tta": np.r_[tta_features(scorer, c.strokes, e0.cls, tta, rng),
                          tta_features(scorer, cleaned, e1.cls, tta, rng)]}
        if second is not None:
            s0, s1 = second.score_now([c.strokes, cleaned])
            f["second_as_sent"] = angle_features(s0.q, s0.cos)
            f["second_after_one"] = angle_features(s1.q, s1.cos)
        out.append(f)
    return out


FEATURE_SETS = {
    "card features, sketch as sent": ["as_sent"],
    "+ log stroke count": ["as_sent", "log_strokes"],
    "+ after one greedy removal": ["as_sent", "after_one"],
    "+ after one removal + log stroke count": ["as_sent", "after_one", "log_strokes"],
    "+ after one removal + log stroke count + test-time augmentation": ["as_sent", "after_one", "log_strokes",
                                                                        "tta"],
    "+ softmax model, as sent and after one removal": ["as_sent", "after_one", "second_as_sent",
                                                       "second_after_one"],
    "+ softmax model + log stroke count": ["as_sent", "after_one", "second_as_sent", "second_after_one",
                                           "log_strokes"],
}


def verdict_features(val: list[dict], val_truth: list[str], test: list[dict], test_truth: list[str]) -> dict:
    out = {}
    for name, keys in FEATURE_SETS.items():
        if any(k not in val[0] for k in keys):
            continue
        xv = np.stack([np.concatenate([f[k] for k in keys]) for f in val])  # (N_val, F)
        xt = np.stack([np.concatenate([f[k] for k in keys]) for f in test])  # (N_test, F)
        w, b = fit_logistic(xv, np.array([t != "malicious" for t in val_truth], dtype=float))
        f1_val, t = best_threshold(xv @ w + b, val_truth)
        pred, mal = xt @ w + b < t, np.array([x == "malicious" for x in test_truth])
        out[name] = {"val_f1_fitted": f1_val, "test_f1": float(2 * (pred & mal).sum() / (pred.sum() + mal.sum()))}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/gacl")
    p.add_argument("--softmax-model", default=None, help="a second exported model for the last feature sets")
    p.add_argument("--data", nargs="+", default=["../shared/data/quickdraw"])
    p.add_argument("--n-val", type=int, default=300)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--subsets", type=int, default=32)
    p.add_argument("--tta", type=int, default=8, help="augmented copies per sketch for the test-time features")
    p.add_argument("--out", default="docs/results/attribution_ablation.json")
    args = p.parse_args()
    scorer = OnnxScorer(Path(args.model))
    second = OnnxScorer(Path(args.softmax_model)) if args.softmax_model else None
    _, sets = load_splits(args.data, scorer.card.classes, scorer.pre, keep_records=True)
    real = {s: [(r.strokes, r.category) for r in sets[s].records] for s in ("val", "test")}
    val = build_attribution_set(real["val"], args.n_val, 0)
    test = build_attribution_set(real["test"], args.n_test, 1)
    first_val = [greedy_first(scorer, c) for c in val]
    first_test = [greedy_first(scorer, c) for c in test]
    s = scorer.card.thresholds.attribution.score
    assert s is not None, "the model's card has no calibrated score rule (sketchq-train calibrate)"
    w, b = np.array(s.weights), float(s.bias)

    def score_value(e: Eval) -> float:
        return float(w @ angle_features(e.q, e.cos) + b)

    result = {
        "model": args.model, "second_model": args.softmax_model,
        "sets": {"val": {"seed": 0, "cases_per_label": args.n_val},
                 "test": {"seed": 1, "cases_per_label": args.n_test}},
        "first_removal_injected_test": removal_choice(scorer, test, first_test, score_value, args.subsets, 0),
        "verdict_malicious_f1": verdict_features(case_features(scorer, second, val, first_val, args.tta),
                                                 [c.label for c in val],
                                                 case_features(scorer, second, test, first_test, args.tta),
                                                 [c.label for c in test]),
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
