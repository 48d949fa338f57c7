"""Attribution by greedy stroke removal (paper Sec. 4.4): malicious input or rare-and-hard sketch?

Given a sketch with q below q_tau (for q >= q_tau the verdict is `benign`, no search), repeat up to
`max_removals` times: score every one-stroke-removed variant of the current sketch in one batch, and
remove the stroke whose removal raises q most, if it raises q by more than `min_gain`; stop early when
q reaches q_max, when no removal helps, or when one stroke is left. If the best subset reaches
q >= q_max the sketch is `rare_hard` (a real drawing under outlier strokes), else `malicious`.

Each variant is a new sketch and goes through the normal preprocessing (its normalisation changes when a
stroke at the border goes). Cost is bounded: at most 1 + sum_{k<max_removals} (n - k) evaluations for n
strokes, and n is limited by a setting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sketchprep.strokes import Sketch

ScoreFn = Callable[[Sequence[Sketch]], Awaitable[list[tuple[float, int]]]]  # sketches -> (q, class) each


@dataclass
class Thresholds:
    q_tau: float
    q_max: float


@dataclass
class AttributionResult:
    verdict: str  # benign | rare_hard | malicious
    quality: float
    class_index: int
    best_quality: float
    best_class_index: int
    removed: list[int] = field(default_factory=list)  # indices into the input's strokes, in removal order
    kept: list[int] = field(default_factory=list)  # indices of the best subset's strokes
    evaluations: int = 0
    trajectory: list[float] = field(default_factory=list)  # q after each removal


def max_evaluations(n_strokes: int, max_removals: int) -> int:
    return 1 + sum(max(0, n_strokes - k) for k in range(min(max_removals, max(0, n_strokes - 1))))


async def attribute(strokes: Sketch, score: ScoreFn, thresholds: Callable[[int], Thresholds],
                    max_removals: int, min_gain: float) -> AttributionResult:
    """`thresholds(class_index)` gives q_tau and q_max for the original sketch's predicted class."""
    ((q0, c0),) = await score([strokes])
    thr = thresholds(c0)
    result = AttributionResult("benign", q0, c0, q0, c0, kept=list(range(len(strokes))), evaluations=1)
    if q0 >= thr.q_tau:
        return result
    current = list(range(len(strokes)))
    q_cur = q0
    for _ in range(max_removals):
        if len(current) <= 1 or result.best_quality >= thr.q_max:
            break
        variants = [[j for j in current if j != i] for i in current]
        scores = await score([[strokes[j] for j in v] for v in variants])
        result.evaluations += len(variants)
        best = max(range(len(variants)), key=lambda k: scores[k][0])
        q_new, c_new = scores[best]
        if q_new - q_cur <= min_gain:
            break
        result.removed.append(current[best])
        current, q_cur = variants[best], q_new
        result.trajectory.append(q_new)
        if q_new > result.best_quality:
            result.best_quality, result.best_class_index, result.kept = q_new, c_new, list(current)
    result.verdict = "rare_hard" if result.best_quality >= thr.q_max else "malicious"
    return result
