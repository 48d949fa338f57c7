"""Is GACL's accuracy at least the softmax baseline's? Paired test-split comparison over seeds.

    sketchq-train compare-seeds --pairs runs/softmax:runs/gacl-cos-rankdrop4 \
        runs/softmax-s1:runs/gacl-cos-rankdrop4-s1 --out docs/results/seeds

Each pair is (softmax run, GACL run) trained with the same seed and budget (scripts/train_pair.sh). For every
pair both `last.pt` checkpoints predict the test split; the report gives each model's top-1, the paired
difference with a 95% bootstrap interval (resampling test sketches), the discordant counts and the exact
two-sided McNemar p-value; then the mean difference over seeds. Writes seeds.json and seeds.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import comb
from pathlib import Path

import numpy as np

from sketchprep.preprocess import PreprocessConfig
from training.data.splits import load_splits
from training.engine.checkpoints import load_net
from training.engine.config import DEFAULT_DATA
from training.engine.predict import predict


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs (binomial, p = 1/2)."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n)


def paired_accuracy(right_a: np.ndarray, right_b: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict:
    """Top-1 of b minus a on the same sketches (boolean (N,) arrays), with interval and McNemar."""
    rng = np.random.default_rng(seed)
    diff = right_b.astype(float) - right_a.astype(float)  # (N,)
    boots = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(n_boot)]
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    return {"diff": float(diff.mean()), "ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))],
            "only_softmax_right": only_a, "only_gacl_right": only_b, "mcnemar_p": mcnemar_exact(only_a, only_b)}


def compare(pairs: list[tuple[Path, Path]], data: list[str]) -> dict:
    rows = []
    for soft, gacl in pairs:
        (net_s, ck_s), (net_g, ck_g) = load_net(soft / "last.pt"), load_net(gacl / "last.pt")
        same = ("classes", "preprocess")
        if any(ck_s[k] != ck_g[k] for k in same) or ck_s["config"]["seed"] != ck_g["config"]["seed"]:
            raise ValueError(f"{soft} and {gacl} differ in classes, preprocessing or seed")
        _, sets = load_splits(data, ck_s["classes"], PreprocessConfig.from_dict(ck_s["preprocess"]))
        y = np.asarray(sets["test"].labels)  # (N,)
        right_s = predict(net_s, sets["test"])[1].argmax(1).numpy() == y  # (N,)
        right_g = predict(net_g, sets["test"])[1].argmax(1).numpy() == y
        rows.append({"softmax": str(soft), "gacl": str(gacl), "seed": int(ck_s["config"]["seed"]), "n": int(len(y)),
                     "softmax_top1": float(right_s.mean()), "gacl_top1": float(right_g.mean()),
                     **paired_accuracy(right_s, right_g)})
    diffs = np.array([r["diff"] for r in rows])
    return {"pairs": rows, "mean_diff": float(diffs.mean()),
            "sd_diff": float(diffs.std(ddof=1)) if len(diffs) > 1 else None,
            "gacl_at_least_softmax_in": int((diffs >= 0).sum())}


def markdown(result: dict) -> str:
    lines = ["| softmax run | GACL run | softmax top-1 | GACL top-1 | GACL - softmax [95% CI] | "
             "only softmax right / only GACL right | McNemar p |", "|---|---|---|---|---|---|---|"]
    for r in result["pairs"]:
        lines.append(f"| {Path(r['softmax']).name} | {Path(r['gacl']).name} | {r['softmax_top1']:.4f} | "
                     f"{r['gacl_top1']:.4f} | {100 * r['diff']:+.2f} [{100 * r['ci95'][0]:+.2f}, "
                     f"{100 * r['ci95'][1]:+.2f}] pts | {r['only_softmax_right']} / {r['only_gacl_right']} | "
                     f"{r['mcnemar_p']:.3f} |")
    lines += ["", f"Mean difference over {len(result['pairs'])} seeds: {100 * result['mean_diff']:+.2f} points; "
              f"GACL at least softmax in {result['gacl_at_least_softmax_in']} of {len(result['pairs'])}."]
    return "\n".join(lines) + "\n"


@dataclass
class CompareSeedsArgs:
    pairs: list[str]
    """softmax_run:gacl_run, one pair of run folders per seed"""
    out: str
    """folder for seeds.json and seeds.md"""
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    """sketch files or folders (the test split is used)"""


def run_cli(args: CompareSeedsArgs) -> int:
    pairs = [(Path(a), Path(b)) for a, b in (p.split(":", 1) for p in args.pairs)]
    result = compare(pairs, args.data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "seeds.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "seeds.md").write_text(markdown(result))
    print(markdown(result))
    return 0
