"""The attribute operation: POST /attribute = the shared greedy stroke-removal search
(sketchprep.attribution) run on the service's own scoring path.

Every candidate sketch (the input and each one-stroke-removed variant) is preprocessed like any sketch and
scored through `Scorer.raw_scores`: the cache first, then one `submit` per search step to the shared
batcher, so a step's variants are computed as one batch and repeated requests are answered from the cache
(`cached` is true when every evaluation came from it). The verdict follows the model card's rule: the
calibrated score rule when the card has one, else the paper's q rule with per-class thresholds (by the
input's predicted class). A request that sets q_tau or q_max asks for the q rule with those thresholds
(the other one from the card). Work is bounded by `attribute_max_strokes` and `attribute_max_removals`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from service.api.schemas.attribute import AttributeRequest, AttributeResponse, AttributeThresholds, CleanedSketch
from service.core.errors import LimitExceededError
from service.core.metrics import Metrics
from service.core.settings import Settings
from service.ops.limits import stroke_count, to_strokes
from service.ops.scoring import Scorer
from sketchprep.attribution import DEFAULT_MAX_REMOVALS, DEFAULT_MIN_GAIN, Eval, Rule, attribute, card_rules
from sketchprep.preprocess import sketch_to_points
from sketchprep.strokes import Sketch, strokes_to_drawing


class Attributor:
    def __init__(self, scorer: Scorer, settings: Settings, metrics: Metrics) -> None:
        self.scorer = scorer
        self.metrics = metrics
        self.max_strokes = settings.attribute_max_strokes
        self.max_removals_limit = settings.attribute_max_removals
        block = scorer.model.card.thresholds.attribution
        removals = DEFAULT_MAX_REMOVALS if block.max_removals is None else block.max_removals
        self.default_removals = min(removals, self.max_removals_limit)
        self.min_gain = DEFAULT_MIN_GAIN if block.min_gain is None else block.min_gain
        rule, self.q_rules, score_rule = card_rules(block, scorer.model.classes)
        self.score_rule = score_rule if rule == "score" else None  # None: the paper's q rule

    def cost(self, req: AttributeRequest) -> int:
        """Sketch evaluations the request may run at most: the input, then per removal one per stroke."""
        removals = self.default_removals if req.max_removals is None else req.max_removals
        return 1 + min(removals, self.max_removals_limit) * min(stroke_count(req.sketch), self.max_strokes)

    async def attribute(self, req: AttributeRequest) -> AttributeResponse:
        loc: list[str | int] = ["body", "sketch"]
        strokes = to_strokes(req.sketch, loc, self.scorer.limits)
        if len(strokes) > self.max_strokes:
            raise LimitExceededError.at([*loc, "strokes"], f"{len(strokes)} strokes; /attribute accepts at most "
                                        f"{self.max_strokes}", "too_many_strokes")
        removals = self.default_removals if req.max_removals is None else req.max_removals
        if removals > self.max_removals_limit:
            raise LimitExceededError.at(["body", "max_removals"], f"max_removals={removals}; at most "
                                        f"{self.max_removals_limit} are allowed", "too_many_removals")
        all_cached = True
        cfg = self.scorer.model.preprocess

        async def score(sketches: Sequence[Sketch]) -> list[Eval]:
            nonlocal all_cached
            points = await asyncio.to_thread(lambda: [sketch_to_points(s, cfg) for s in sketches])  # (T_i, 7)
            raws, cached = await self.scorer.raw_scores(points)
            all_cached = all_cached and all(cached)
            return [Eval(r.q, r.cos) for r in raws]

        score_rule = None if req.q_tau is not None or req.q_max is not None else self.score_rule

        def q_rule(class_index: int) -> Rule:
            t = self.q_rules[class_index]
            return Rule("q", t.tau if req.q_tau is None else req.q_tau, t.max if req.q_max is None else req.q_max)

        def rule_for(class_index: int) -> Rule:
            return q_rule(class_index) if score_rule is None else score_rule

        result = await attribute(strokes, score, rule_for, removals, self.min_gain)
        self.metrics.attribution_evaluations.inc(result.evaluations)
        self.metrics.attribution_verdicts.labels(result.verdict).inc()
        used_q = q_rule(result.class_index)
        by_score = score_rule is not None
        classes = self.scorer.model.classes
        return AttributeResponse(
            model=self.scorer.model_ref, verdict=result.verdict, quality=result.quality,
            class_=classes[result.class_index], best_quality=result.best_quality,
            best_class=classes[result.best_class_index], removed_strokes=sorted(result.removed),
            cleaned=CleanedSketch(strokes=strokes_to_drawing([strokes[i] for i in result.kept])),
            score=result.value if by_score else None, best_score=result.best_value if by_score else None,
            thresholds=AttributeThresholds(
                rule="score" if by_score else "q", q_tau=used_q.tau, q_max=used_q.max,
                score_tau=score_rule.tau if score_rule else None, score_max=score_rule.max if score_rule else None,
                max_removals=removals, min_gain=self.min_gain),
            evaluations=result.evaluations, trajectory=result.trajectory, cached=all_cached)
