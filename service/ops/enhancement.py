"""The enhance operation: POST /enhance = a derivative-free search over the Sketch-RNN VAE's latent space
with the quality score as the critic (paper Sec. 3.6, Eq. 20, on ONNX Runtime instead of torch gradients).

    L(z) = (q_max - q(D(z))) + alpha * ||z - z0||^2,      z0 = encoder mean of the input sketch

D is the greedy (temperature 0) decode. The optimiser is a diagonal (mu, lambda) evolution strategy: each
step draws `population` latents around the current mean with a per-dimension step size, decodes them as
one batch and scores them as one batch through `Scorer.raw_scores` (the cache, then one `submit` to the
shared batcher); the mean moves to the log-weighted mean of the best quarter, and each step size moves a
fifth of the way toward the spread of that quarter. The answer is the best-so-far decode, which starts as
z0's own decode, so its q is never below q(D(z0)). It is returned in the input's coordinates (same
longest side, same bounding-box centre), so a client can overlay it on the drawing. Noise comes from
numpy's Generator seeded by `seed`: a request is deterministic. Work is bounded by enhance_max_steps and
enhance_max_population; one request scores at most 2 + steps * population sketches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from service.api.schemas.enhance import EnhancedSketch, EnhanceRequest, EnhanceResponse, TrajectoryPoint
from service.core.errors import InvalidInputError, LimitExceededError, UnknownLabelError
from service.core.metrics import Metrics
from service.core.settings import Settings
from service.inference.vae import VaeModel, chamfer
from service.ops.limits import to_strokes
from service.ops.scoring import Scorer
from sketchprep.formats import canonical_category
from sketchprep.preprocess import place_like, sketch_to_points
from sketchprep.strokes import Sketch, strokes_to_drawing

SIGMA_LEARNING_RATE = 0.2  # how far each step size moves toward the elites' spread per step


class Enhancer:
    def __init__(self, scorer: Scorer, vae: VaeModel, settings: Settings, metrics: Metrics) -> None:
        self.scorer = scorer
        self.vae = vae
        self.metrics = metrics
        s = settings
        self.default_steps, self.max_steps = s.enhance_default_steps, s.enhance_max_steps
        self.default_population, self.max_population = s.enhance_population, s.enhance_max_population
        self.default_alpha, self.max_alpha = s.enhance_alpha, s.enhance_max_alpha
        self.sigma0 = s.enhance_sigma
        self.max_seed = s.enhance_max_seed
        # q_max of Eq. 20 = the GACL upper bound u_a: a constant of L, it moves its value, not the search
        self.q_max = scorer.model.card.quality_top
        self.class_index = {c: i for i, c in enumerate(vae.classes)}

    def cost(self, req: EnhanceRequest) -> int:
        """Sketch evaluations the request will run (at most 2 + steps * population)."""
        steps = min(self.default_steps if req.steps is None else req.steps, self.max_steps)
        pop = min(self.default_population if req.population is None else req.population, self.max_population)
        return 2 + steps * pop

    def _bounded(self, req: EnhanceRequest) -> tuple[int, int, float, int]:
        steps = self.default_steps if req.steps is None else req.steps
        if steps > self.max_steps:
            raise LimitExceededError.at(["body", "steps"], f"steps={steps}; at most {self.max_steps} are allowed",
                                        "too_many_steps")
        pop = self.default_population if req.population is None else req.population
        if pop > self.max_population:
            raise LimitExceededError.at(["body", "population"], f"population={pop}; at most "
                                        f"{self.max_population} are allowed", "population_too_large")
        alpha = self.default_alpha if req.alpha is None else req.alpha
        if alpha > self.max_alpha:
            raise LimitExceededError.at(["body", "alpha"], f"alpha={alpha}; at most {self.max_alpha} is allowed",
                                        "alpha_too_large")
        seed = 0 if req.seed is None else req.seed
        if seed > self.max_seed:
            raise LimitExceededError.at(["body", "seed"], f"seed={seed}; seeds are 0..{self.max_seed}",
                                        "seed_too_large")
        return steps, pop, alpha, seed

    def _vae_class(self, name: str, loc: list[str | int]) -> int:
        key = canonical_category(name)
        if key not in self.class_index:
            raise UnknownLabelError(name, loc, self.vae.classes)
        return self.class_index[key]

    async def enhance(self, req: EnhanceRequest) -> EnhanceResponse:
        strokes = to_strokes(req.sketch, ["body", "sketch"], self.scorer.limits)
        steps, pop, alpha, seed = self._bounded(req)
        requested_class = None if req.class_ is None else self._vae_class(req.class_, ["body", "class"])
        all_cached = True
        evaluations = 0
        cfg = self.scorer.model.preprocess

        async def score(sketches: Sequence[Sketch]) -> tuple[np.ndarray, list[int]]:
            nonlocal all_cached, evaluations
            points = await asyncio.to_thread(lambda: [sketch_to_points(s, cfg) for s in sketches])  # (T_i, 7)
            raws, cached = await self.scorer.raw_scores(points)
            all_cached = all_cached and all(cached)
            evaluations += len(sketches)
            return np.array([r.q for r in raws], dtype=np.float64), [r.pred for r in raws]

        vae = self.vae
        frame = await asyncio.to_thread(vae.to_frame, strokes)
        z0 = await asyncio.to_thread(vae.encode, frame)  # (Z,)
        if requested_class is None:
            (q_in,), (pred,) = await score([strokes])
            predicted = self.scorer.model.classes[pred]
            if canonical_category(predicted) not in self.class_index:
                raise InvalidInputError.at(["body", "class"], f"the predicted class {predicted!r} is not one the "
                                           "VAE can draw; give `class`", "class_required")
            class_index = self.class_index[canonical_category(predicted)]
            (start,) = await asyncio.to_thread(vae.decode_greedy, z0[None, :], class_index)
            (q_start,), _ = await score([start])
        else:
            class_index = requested_class
            (start,) = await asyncio.to_thread(vae.decode_greedy, z0[None, :], class_index)
            (q_in, q_start), _ = await score([strokes, start])
        decodes = 1

        best_sketch, best_q, best_loss = start, float(q_start), self.q_max - float(q_start)
        trajectory = [TrajectoryPoint(step=0, quality=best_q)]
        rng = np.random.default_rng(seed)
        n_elite = max(1, pop // 4)
        weights = np.log(n_elite + 0.5) - np.log(np.arange(1, n_elite + 1))
        weights /= weights.sum()  # (mu,)
        mean = z0.astype(np.float64)
        sigma = np.full(vae.z_dim, self.sigma0)  # (Z,)
        for k in range(1, steps + 1):
            cand = mean[None, :] + sigma[None, :] * rng.standard_normal((pop, vae.z_dim))  # (P, Z)
            sketches = await asyncio.to_thread(vae.decode_greedy, cand.astype(np.float32), class_index)
            decodes += pop
            q, _ = await score(sketches)  # (P,)
            loss = (self.q_max - q) + alpha * ((cand - z0[None, :]) ** 2).sum(axis=1)  # (P,) Eq. 20
            order = np.argsort(loss, kind="stable")
            if loss[order[0]] < best_loss:
                i = int(order[0])
                best_sketch, best_q, best_loss = sketches[i], float(q[i]), float(loss[i])
            elite = cand[order[:n_elite]]  # (mu, Z)
            spread = np.sqrt(weights @ (elite - mean[None, :]) ** 2)  # (Z,)
            sigma = (1.0 - SIGMA_LEARNING_RATE) * sigma + SIGMA_LEARNING_RATE * spread
            mean = weights @ elite
            trajectory.append(TrajectoryPoint(step=k, quality=best_q))

        self.metrics.enhance_evaluations.inc(evaluations)
        self.metrics.enhance_decodes.inc(decodes)
        out = place_like(best_sketch, strokes)  # in the input's own coordinates, centred on it
        return EnhanceResponse(
            model=self.scorer.model_ref, class_=vae.classes[class_index], original_quality=float(q_in),
            enhanced=EnhancedSketch(strokes=strokes_to_drawing(out, decimals=2)), enhanced_quality=best_q,
            distance=await asyncio.to_thread(chamfer, strokes, best_sketch), trajectory=trajectory, steps=steps,
            population=pop, alpha=alpha, sigma=self.sigma0, seed=seed, evaluations=evaluations, cached=all_cached)
