"""`sketchq-train agreement`: score a model (and its baselines) on judged pairs and report the agreement.

    sketchq-train agreement models/gacl --baseline models/softmax --pairs ../shared/judged/pairs-dev.jsonl \
        --out docs/results/agreement/gacl-cos-v3

A model is a torch checkpoint (`runs/x/last.pt`) or an exported folder (`models/gacl`, ONNX). Scores
compared: the model's q (feature magnitude), its max cosine and max probability; with `--baseline`, the
baseline model's max probability and feature norm; and two scores without any model, the total ink
length (as drawn) and the number of strokes. Writes agreement.json,
agreement.md and wrong_pairs.png (the pairs q gets most confidently wrong). `--mirror` scores every drawing
flipped left-right, which leaves the raters' choices as they are: the difference to the drawings as drawn is
how much of a model's agreement rests on which way the drawings face.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro

from sketchprep.card import CARD_FILE, ModelCard
from sketchprep.preprocess import PreprocessConfig
from sketchprep.strokes import Sketch
from training.engine.checkpoints import load_net, probability_scale
from training.engine.predict import score_strokes
from training.evaluation.agreement import (
    DEFAULT_PAIRS,
    JudgedPair,
    agreement,
    load_pairs,
    markdown,
    mirrored_pairs,
    most_confidently_wrong,
)
from training.export.runtime import OnnxScorer
from training.plots import plot_sketch_grid


def ink_length(strokes: Sketch) -> float:
    """Total length of the pen path as drawn (in the Quick, Draw! simplified frame, longest side about 255;
    measured there it agrees with the raters more often than after normalising each drawing)."""
    return float(sum(np.linalg.norm(np.diff(s, axis=0), axis=1).sum() for s in strokes))


def model_scores(model: str | Path, sketches: Sequence[Sketch]) -> tuple[dict[str, np.ndarray], list[str]]:
    """q, max_cos, max_prob, pred (arg-max class) and cos (N, C) of a checkpoint (torch) or an exported
    folder (ONNX), and the model's classes."""
    path = Path(model)
    if path.is_dir():
        scorer = OnnxScorer(path)
        evals = [e for i in range(0, len(sketches), 256) for e in scorer.score_now(sketches[i : i + 256])]
        q = np.array([e.q for e in evals])
        cos = np.stack([np.asarray(e.cos) for e in evals])  # (N, C)
        logits = scorer.card.probability_scale * cos
        p = np.exp(logits - logits.max(1, keepdims=True))
        return ({"q": q, "max_cos": cos.max(1), "max_prob": (p / p.sum(1, keepdims=True)).max(1),
                 "pred": cos.argmax(1), "cos": cos}, list(scorer.card.classes))
    net, ck = load_net(path)
    out = score_strokes(net, list(sketches), PreprocessConfig.from_dict(ck["preprocess"]), probability_scale(ck))
    return {k: out[k] for k in ("q", "max_cos", "max_prob", "pred", "cos")}, list(ck["classes"])


def _sides(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    return values[:n], values[n:]


def score_pairs(pairs: Sequence[JudgedPair], model: str | Path, baseline: str | Path | None = None,
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (score of A, score of B) for the model, the baseline and the model-free scores. `q_claimed`
    is q cos(theta_y), the length of f along the centre of the pair's category (the category the raters
    judged against; q itself is class-agnostic)."""
    sketches = [p.a for p in pairs] + [p.b for p in pairs]
    n = len(pairs)
    out, classes = model_scores(model, sketches)
    scores = {k: _sides(out[k], n) for k in ("q", "max_cos", "max_prob")}
    if all(p.category in classes for p in pairs):
        y = np.array([classes.index(p.category) for p in pairs] * 2)
        scores["q_claimed"] = _sides(out["q"] * out["cos"][np.arange(2 * n), y], n)
    if baseline is not None:
        base, _ = model_scores(baseline, sketches)
        scores["baseline_max_prob"] = _sides(base["max_prob"], n)
        scores["baseline_norm"] = _sides(base["q"], n)
    scores["ink_length"] = _sides(np.array([ink_length(s) for s in sketches]), n)
    scores["n_strokes"] = _sides(np.array([float(len(s)) for s in sketches]), n)
    return scores


def wrong_pairs_figure(pairs: Sequence[JudgedPair], q: tuple[np.ndarray, np.ndarray], path: Path,
                       n: int = 12) -> list[int]:
    """The agreed pairs q orders most confidently against the raters: both drawings, both q."""
    idx = most_confidently_wrong(pairs, q[0], q[1], n)
    items = []
    for i in idx:
        p = pairs[i]
        win = p.consensus
        for side, sk, val in (("A", p.a, q[0][i]), ("B", p.b, q[1][i])):
            mark = "raters' choice" if side == win else "q's choice"
            items.append((sk, None, f"#{p.id} {p.category} {side}: q {val:.1f}\n{mark}"))
    if items:
        plot_sketch_grid(items, path, cols=6)
    return [pairs[i].id for i in idx]


def run(model: str, pairs_file: str, out_dir: str, baseline: str | None = None, figure_pairs: int = 12,
        mirror: bool = False) -> dict:
    pairs = mirrored_pairs(load_pairs(pairs_file)) if mirror else load_pairs(pairs_file)
    scores = score_pairs(pairs, model, baseline)
    result = agreement(pairs, scores)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result["model"] = str(model)
    result["baseline"] = str(baseline) if baseline else None
    result["pairs_file"] = str(pairs_file)
    result["mirrored"] = mirror
    result["most_wrong_ids"] = wrong_pairs_figure(pairs, scores["q"], out / "wrong_pairs.png", figure_pairs)
    # per-pair scores of the model, so runs can be compared pair by pair (training.agreement_study)
    result["pair_scores"] = {k: {"a": scores[k][0].tolist(), "b": scores[k][1].tolist()}
                             for k in ("q", "q_claimed") if k in scores}
    (out / "agreement.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "agreement.md").write_text(markdown(result, str(model)))
    return result


def summary(result: dict) -> dict:
    """The headline numbers: q's agreement over both subsets (for model cards and tables)."""
    sub = result["subsets"]
    return {k: {"n": sub[k]["n"], "q": sub[k]["q"]["agreement"], "q_ci95": sub[k]["q"]["ci95"]} for k in sub}


@dataclass
class AgreementArgs:
    model: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="MODEL")]
    """checkpoint (.pt) or exported model folder"""
    out: str
    """folder for agreement.json, agreement.md and wrong_pairs.png"""
    pairs: str = DEFAULT_PAIRS
    """judged-pairs JSONL"""
    baseline: str | None = None
    """softmax baseline: checkpoint or exported folder"""
    figure_pairs: int = 12
    """pairs in wrong_pairs.png"""
    write_card: bool = False
    """exported folder only: record the summary in its model card (metrics.agreement)"""
    mirror: bool = False
    """score every drawing flipped left-right (the raters' choices stand): how much agreement depends on the
    side the drawings face"""


def write_to_card(model_dir: Path, result: dict) -> None:
    """metrics.agreement of an exported model's card := the summary (and which pairs file it used)."""
    card = ModelCard.load(model_dir)
    card.metrics["agreement"] = summary(result) | {"pairs_file": result["pairs_file"]}
    card.save(model_dir)


def run_cli(args: AgreementArgs) -> int:
    if args.write_card and not (Path(args.model) / CARD_FILE).is_file():
        raise SystemExit(f"--write-card needs an exported model folder (with {CARD_FILE})")
    if args.write_card and args.mirror:
        raise SystemExit("--write-card records the pairs as drawn; run it without --mirror")
    result = run(args.model, args.pairs, args.out, args.baseline, args.figure_pairs, args.mirror)
    if args.write_card:
        write_to_card(Path(args.model), result)
    print(json.dumps(summary(result)))
    return 0
