"""Attribution by greedy stroke removal (paper Sec. 4.4): malicious input or rare-and-hard sketch?

A verdict rule gives every scored sketch a value v and has two thresholds, tau and max:
- rule `q` (the paper): v = q.
- rule `score`: v = a calibrated logistic score of q and the angle profile (the cosines to all class
  centres, described by class-agnostic statistics: `angle_features`); its weights live in the model card
  (training/export/calibrate_attribution.py), and it says how much a sketch looks like a drawing rather than a scribble.

If v >= tau the verdict is `benign` (no search). Otherwise repeat up to `max_removals` times: score every
one-stroke-removed variant of the current sketch in one batch, and remove the stroke whose removal raises
q most (the paper's criterion, whatever the rule), if it raises q by more than `min_gain`; stop early when
v reaches max, when no removal helps, or when one stroke is left. If some accepted subset reaches
v >= max the sketch is `rare_hard` (a real drawing under outlier strokes), else `malicious`.

A rare_hard search is then pruned: a removed stroke whose return keeps v >= max was not needed for the
verdict and is put back (the best such stroke first, one batch per pass), so `removed` is the strokes the
verdict needs. Pruning never changes the verdict.

Each variant is a new sketch and goes through the normal preprocessing (its normalisation changes when a
stroke at the border goes). Cost is bounded by `max_evaluations(n, max_removals)` for n strokes, and n is
limited by a setting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sketchprep.card import AttributionThresholds
from sketchprep.strokes import Sketch

ANGLE_FEATURES = ("log_q", "cos_max", "cos_margin", "cos_mean", "cos_std", "cos_min")


@dataclass(frozen=True)
class Eval:
    """One scored sketch: q and the cosines to the class centres (C,)."""

    q: float
    cos: np.ndarray

    @property
    def cls(self) -> int:
        return int(np.argmax(self.cos))


ScoreFn = Callable[[Sequence[Sketch]], Awaitable[list[Eval]]]


def angle_features(q: float, cos: np.ndarray) -> np.ndarray:
    """(len(ANGLE_FEATURES),): log q, then max, top-1 minus top-2, mean, std and min of the cosines."""
    c = np.sort(np.asarray(cos, dtype=np.float64))[::-1]
    margin = c[0] - c[1] if len(c) > 1 else 0.0
    return np.array([np.log(max(q, 1e-6)), c[0], margin, c.mean(), c.std(), c[-1]])


@dataclass(frozen=True)
class Rule:
    """The value a verdict is judged by (q, or the logistic score when `weights` is set) and its thresholds."""

    name: str  # q | score
    tau: float
    max: float
    weights: tuple[float, ...] | None = None
    bias: float = 0.0

    def value(self, e: Eval) -> float:
        if self.weights is None:
            return e.q
        return float(np.dot(self.weights, angle_features(e.q, e.cos)) + self.bias)


DEFAULT_MAX_REMOVALS = 5  # a card calibrated before these were recorded
DEFAULT_MIN_GAIN = 0.5


def card_rules(block: AttributionThresholds, classes: Sequence[str]) -> tuple[str, list[Rule], Rule | None]:
    """(default rule name, q rule of each class, score rule or None) from a model card's thresholds.attribution."""
    glob = Rule("q", block.q_tau, block.q_max)
    q_rules = [Rule("q", t.q_tau, t.q_max) if (t := block.per_class.get(c)) is not None else glob
               for c in classes]
    s = block.score
    score = None if s is None else Rule("score", s.tau, s.max, tuple(s.weights), s.bias)
    return block.rule or "q", q_rules, score


@dataclass
class AttributionResult:
    verdict: str  # benign | rare_hard | malicious
    quality: float
    class_index: int
    value: float  # the rule's value of the sketch as sent
    best_quality: float
    best_class_index: int
    best_value: float
    removed: list[int] = field(default_factory=list)  # indices into the input's strokes, in removal order
    kept: list[int] = field(default_factory=list)  # indices of the best subset's strokes
    evaluations: int = 0
    trajectory: list[float] = field(default_factory=list)  # q after each accepted removal
    put_back: list[int] = field(default_factory=list)  # removed during the search, returned by pruning
    path: list[Eval] = field(default_factory=list)  # the sketch after each accepted removal


def max_evaluations(n_strokes: int, max_removals: int) -> int:
    steps = min(max_removals, max(0, n_strokes - 1))
    return 1 + sum(n_strokes - k for k in range(steps)) + steps * (steps + 1) // 2  # search + pruning


async def _prune(strokes: Sketch, score: ScoreFn, rule: Rule, result: AttributionResult) -> None:
    """Put back removed strokes while the subset stays at v >= rule.max (best first)."""
    while result.removed:
        candidates = [sorted([*result.kept, r]) for r in result.removed]
        evals = await score([[strokes[j] for j in c] for c in candidates])
        result.evaluations += len(candidates)
        values = [rule.value(e) for e in evals]
        k = int(np.argmax(values))
        if values[k] < rule.max:
            return
        result.put_back.append(result.removed.pop(k))
        result.kept = candidates[k]
        result.best_quality, result.best_class_index, result.best_value = evals[k].q, evals[k].cls, values[k]


async def attribute(strokes: Sketch, score: ScoreFn, rule_for: Callable[[int], Rule], max_removals: int,
                    min_gain: float, prune: bool = True) -> AttributionResult:
    """`rule_for(class_index)` gives the rule for the original sketch's predicted class."""
    (e0,) = await score([strokes])
    rule = rule_for(e0.cls)
    v0 = rule.value(e0)
    result = AttributionResult("benign", e0.q, e0.cls, v0, e0.q, e0.cls, v0, kept=list(range(len(strokes))),
                               evaluations=1)
    if v0 >= rule.tau:
        return result
    current, q_cur, removed = list(range(len(strokes))), e0.q, []
    for _ in range(max_removals):
        if len(current) <= 1 or result.best_value >= rule.max:
            break
        variants = [[j for j in current if j != i] for i in current]
        evals = await score([[strokes[j] for j in v] for v in variants])
        result.evaluations += len(variants)
        best = max(range(len(variants)), key=lambda k: evals[k].q)
        e = evals[best]
        if e.q - q_cur <= min_gain:
            break
        removed.append(current[best])
        current, q_cur = variants[best], e.q
        result.trajectory.append(e.q)
        result.path.append(e)
        v = rule.value(e)
        if v > result.best_value:
            result.best_quality, result.best_class_index, result.best_value = e.q, e.cls, v
            result.kept, result.removed = list(current), list(removed)
    result.verdict = "rare_hard" if result.best_value >= rule.max else "malicious"
    if prune and result.verdict == "rare_hard":
        await _prune(strokes, score, rule, result)
    return result
