"""Agreement of quality scores with people's pairwise judgements (issue 12).

A judged-pairs file (`../shared/judged/pairs-dev.jsonl`, described in its README) holds same-category
pairs of real sketches, each judged blind by raters ("which is the better drawing?", forced choice, with a
confidence 1-3). A score agrees with a pair when the side with the higher score is the side the raters
chose; a tie counts one half. Reported over the pairs where every rater chose the same side (`agree`) and
over those where, in addition, every rater's confidence is at least 2 (`agree_clear`), with a 95 %
bootstrap interval (resampling pairs), and per category.

These pairs are for evaluation and model selection only: nothing here may feed training.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sketchprep.strokes import Sketch, mirrored, strokes_from_drawing

DEFAULT_PAIRS = "../shared/judged/pairs-dev.jsonl"
CLEAR_CONFIDENCE = 2
# issue 12's targets: agreement over the pairs the raters agree on, and over those both call clear
TARGETS = {"agree": 0.75, "agree_clear": 0.85}
SUBSETS = ("agree", "agree_clear")


@dataclass(frozen=True)
class JudgedPair:
    id: int
    category: str
    a: Sketch
    b: Sketch
    ratings: tuple[tuple[str, int], ...]  # (better side "A" | "B", confidence 1..3) per rater

    @property
    def consensus(self) -> str | None:
        """"A" or "B" when every rater chose that side, None when they disagree."""
        sides = {side for side, _ in self.ratings}
        return sides.pop() if len(sides) == 1 else None

    @property
    def clear(self) -> bool:
        return all(conf >= CLEAR_CONFIDENCE for _, conf in self.ratings)


def load_pairs(path: str | Path) -> list[JudgedPair]:
    pairs = []
    with open(path) as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                ratings = tuple((str(x["better"]).upper(), int(x["confidence"])) for x in r["ratings"])
                pairs.append(JudgedPair(int(r["id"]), str(r["category"]), strokes_from_drawing(r["a"]["drawing"]),
                                        strokes_from_drawing(r["b"]["drawing"]), ratings))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path}:{line_no}: not a judged pair ({e})") from e
            if not ratings or any(side not in ("A", "B") for side, _ in ratings):
                raise ValueError(f"{path}:{line_no}: ratings must name side A or B")
    return pairs


def mirrored_pairs(pairs: Sequence[JudgedPair]) -> list[JudgedPair]:
    """Every pair with both drawings flipped left-right: the raters' choice holds for them as it stands, so a
    score's agreement on these measures how much of its agreement rests on which way the drawings face."""
    return [replace(p, a=mirrored(p.a), b=mirrored(p.b)) for p in pairs]


def credit(score_a: np.ndarray, score_b: np.ndarray, a_wins: np.ndarray) -> np.ndarray:
    """Per pair: 1 if the higher score is on the raters' side, 0 if on the other, 0.5 for a tie."""
    sa, sb = np.asarray(score_a, float), np.asarray(score_b, float)
    if not (np.isfinite(sa).all() and np.isfinite(sb).all()):
        raise ValueError("scores must be finite")
    higher_a = np.sign(sa - sb)  # +1 A higher, -1 B higher, 0 tie
    chosen = np.where(np.asarray(a_wins, bool), 1.0, -1.0)
    return 0.5 + 0.5 * higher_a * chosen


def bootstrap_ci(values: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the mean, resampling the items."""
    values = np.asarray(values, float)
    if len(values) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def paired_difference(credit_a: np.ndarray, credit_b: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict:
    """Agreement of A minus agreement of B on the same pairs, with a 95 % interval resampling pairs (both
    scores move together, so this is far tighter than comparing the two separate intervals)."""
    d = np.asarray(credit_a, float) - np.asarray(credit_b, float)
    lo, hi = bootstrap_ci(d, n_boot, seed)
    return {"diff": float(d.mean()) if len(d) else float("nan"), "ci95": [lo, hi]}


def subset_masks(pairs: Sequence[JudgedPair]) -> dict[str, np.ndarray]:
    agree = np.array([p.consensus is not None for p in pairs])
    clear = np.array([p.clear for p in pairs])
    return {"agree": agree, "agree_clear": agree & clear}


def agreement(pairs: Sequence[JudgedPair], scores: Mapping[str, tuple[np.ndarray, np.ndarray]],
              n_boot: int = 2000, seed: int = 0) -> dict:
    """scores: name -> (score of side A (N,), score of side B (N,)) -> agreement per subset and category."""
    masks = subset_masks(pairs)
    a_wins = np.array([p.consensus == "A" for p in pairs])
    cats = np.array([p.category for p in pairs])
    out: dict = {"n_pairs": len(pairs), "subsets": {}, "per_category": {}}
    for subset, m in masks.items():
        out["subsets"][subset] = {"n": int(m.sum())}
        for name, (sa, sb) in scores.items():
            c = credit(np.asarray(sa)[m], np.asarray(sb)[m], a_wins[m])
            lo, hi = bootstrap_ci(c, n_boot, seed)
            out["subsets"][subset][name] = {"agreement": float(c.mean()) if len(c) else float("nan"),
                                            "ci95": [lo, hi]}
    m = masks["agree"]
    for cat in sorted(set(cats)):
        mc = m & (cats == cat)
        out["per_category"][cat] = {"n": int(mc.sum())} | {
            name: float(credit(np.asarray(sa)[mc], np.asarray(sb)[mc], a_wins[mc]).mean()) if mc.any()
            else float("nan") for name, (sa, sb) in scores.items()}
    return out


def most_confidently_wrong(pairs: Sequence[JudgedPair], score_a: np.ndarray, score_b: np.ndarray,
                           n: int = 12) -> list[int]:
    """Indices of agreed pairs the score orders against the raters, largest log-score gap first."""
    a_wins = np.array([p.consensus == "A" for p in pairs])
    agreed = subset_masks(pairs)["agree"]
    wrong = agreed & (credit(score_a, score_b, a_wins) == 0.0)
    gap = np.abs(np.log(np.maximum(score_a, 1e-9)) - np.log(np.maximum(score_b, 1e-9)))
    idx = np.flatnonzero(wrong)
    return idx[np.argsort(-gap[idx], kind="stable")][:n].tolist()


def markdown(result: dict, title: str) -> str:
    names = [k for k in result["subsets"]["agree"] if k != "n"]
    lines = [f"# Agreement with the raters: {title}", "",
             "Fraction of judged pairs where the higher score is on the side the raters chose (ties half), "
             "95 % bootstrap interval.", "",
             "| pairs | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for subset, label in (("agree", "raters agree"), ("agree_clear", "raters agree, both clear")):
        r = result["subsets"][subset]
        lines.append(f"| {label} | {r['n']} | " + " | ".join(
            f"{r[k]['agreement']:.3f} [{r[k]['ci95'][0]:.3f}, {r[k]['ci95'][1]:.3f}]" for k in names) + " |")
    lines += ["", "Per category (pairs the raters agree on):", "",
              "| category | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for cat, r in result["per_category"].items():
        lines.append(f"| {cat} | {r['n']} | " + " | ".join(f"{r[k]:.2f}" for k in names) + " |")
    return "\n".join(lines) + "\n"
