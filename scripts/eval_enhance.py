"""Evaluate POST /enhance (issue 5): the service path (ONNX Runtime, evolution strategy over z) against the
paper's torch reference (Eq. 20 gradient steps through the straight-through decoder, Eq. 21), on held-out
sketches of every class the VAE draws.

Both paths start from the same z0 (the encoder's mean of the same framed input) and decode for the same
class (the sketch's true label); their outputs are scored by the same running service (POST /score, the
shipped ONNX scorer and the one preprocessing), and their distance to the input is the same symmetric Chamfer
distance (`service.vae.chamfer`). The identity weight alpha is matched: the service's default unless
--alpha is given. Latency is the wall time of each sequential /enhance request (the server's cache must be
off, so nothing is answered from it).

    SKETCHQ_PORT=8772 SKETCHQ_CACHE=off python -m service &
    python scripts/eval_enhance.py --server http://127.0.0.1:8772 --out docs/results/enhance.json \
        --figure docs/results/enhance_pairs.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.inference.vae import chamfer, to_vae_frame  # noqa: E402
from sketchprep.formats import SketchRecord, canonical_category, read_records  # noqa: E402
from sketchprep.split import split_of  # noqa: E402
from sketchprep.stroke5 import encoder_rows, pad_batch, stroke5_to_strokes  # noqa: E402
from sketchprep.strokes import Sketch, strokes_to_drawing  # noqa: E402
from training.sketchrnn.latent_search import QualityCritic, SearchConfig, encode_mean, latent_search  # noqa: E402
from training.sketchrnn.model import SketchRNN, load_model  # noqa: E402


def held_out(data: Path, classes: list[str], per_class: int, split: str = "test") -> list[SketchRecord]:
    """The first `per_class` sketches of each class in a held-out split, in file order (deterministic)."""
    want = {canonical_category(c): c for c in classes}
    picked: dict[str, list[SketchRecord]] = defaultdict(list)
    for rec in read_records([data], classes):
        key = canonical_category(rec.category)
        if key in want and len(picked[key]) < per_class and split_of(rec.strokes) == split:
            picked[key].append(rec)
    return [r for c in classes for r in picked[canonical_category(c)]]


def score(client: httpx.Client, server: str, sketches: list[Sketch]) -> list[float]:
    body = {"sketches": [{"strokes": strokes_to_drawing(s, decimals=3)} for s in sketches]}
    r = client.post(f"{server}/score", json=body, timeout=120)
    r.raise_for_status()
    return [float(x["quality"]) for x in r.json()["results"]]


def run_service(client: httpx.Client, server: str, recs: list[SketchRecord], alpha: float | None) -> list[dict]:
    out = []
    for i, rec in enumerate(recs):
        body: dict = {"sketch": {"strokes": strokes_to_drawing(rec.strokes)}, "class": rec.category, "seed": i}
        if alpha is not None:
            body["alpha"] = alpha
        t0 = time.perf_counter()
        r = client.post(f"{server}/enhance", json=body, timeout=120)
        latency = time.perf_counter() - t0
        r.raise_for_status()
        a = r.json()
        out.append({"q_in": a["original_quality"], "q_out": a["enhanced_quality"], "distance": a["distance"],
                    "latency_s": latency, "cached": a["cached"], "alpha": a["alpha"], "sigma": a["sigma"],
                    "steps": a["steps"], "population": a["population"], "evaluations": a["evaluations"],
                    "q_start": a["trajectory"][0]["quality"], "enhanced": a["enhanced"]["strokes"]})
    return out


def run_reference(model: SketchRNN, classes: list[str], scorer_checkpoint: str, recs: list[SketchRecord],
                  cfg: SearchConfig, batch: int) -> tuple[list[Sketch], list[float]]:
    """The torch reference for every sketch -> (decoded sketches in the VAE frame, q(D(z0)) per sketch)."""
    critic = QualityCritic.from_checkpoint(scorer_checkpoint)
    index = {canonical_category(c): i for i, c in enumerate(classes)}
    t_max = model.cfg.max_seq_len
    sketches: list[Sketch] = []
    q_start: list[float] = []
    for lo in range(0, len(recs), batch):
        chunk = recs[lo: lo + batch]
        rows = [encoder_rows(to_vae_frame(r.strokes, t_max), t_max) for r in chunk]
        x, lengths = pad_batch(rows, max(len(r) for r in rows))  # (B, T, 5), (B,)
        z0 = encode_mean(model, torch.from_numpy(x).float(), torch.from_numpy(lengths))  # (B, Z)
        labels = torch.tensor([index[canonical_category(r.category)] for r in chunk])
        res = latent_search(model, critic, z0, labels, cfg)
        sketches += [stroke5_to_strokes(r, int(n)) for r, n in zip(res.rows.numpy(), res.lengths.numpy(),
                                                                   strict=True)]
        q_start += res.q0.tolist()
    return sketches, q_start


def summary(q_in: np.ndarray, q_out: np.ndarray, dist: np.ndarray) -> dict:
    gain = q_out - q_in
    return {"n": len(gain), "mean_gain": float(gain.mean()), "median_gain": float(np.median(gain)),
            "fraction_improved": float((gain > 0).mean()), "mean_distance": float(dist.mean()),
            "median_distance": float(np.median(dist)), "mean_q_in": float(q_in.mean()),
            "mean_q_out": float(q_out.mean())}


def figure(path: Path, recs: list[SketchRecord], svc: list[dict], ref: list[Sketch], q_ref: np.ndarray,
           rows: int) -> None:
    from sketchprep.strokes import strokes_from_drawing
    from training.plots import plot_sketch_grid

    seen: set[str] = set()
    items = []
    for i, rec in enumerate(recs):
        if rec.category in seen or len(seen) >= rows:
            continue
        seen.add(rec.category)
        items += [(rec.strokes, None, f"{rec.category}: input q={svc[i]['q_in']:.1f}"),
                  (strokes_from_drawing(svc[i]["enhanced"]), None, f"/enhance q={svc[i]['q_out']:.1f}"),
                  (ref[i], None, f"torch ref q={q_ref[i]:.1f}")]
    plot_sketch_grid(items, path, cols=3)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True, help="a running service with the VAE, cache off")
    p.add_argument("--data", default="../shared/data/quickdraw")
    p.add_argument("--vae-checkpoint", default="checkpoints/sketchrnn-cpu/last.pt",
                   help="torch weights of the exported VAE (the reference decodes with the same model)")
    p.add_argument("--scorer-checkpoint", default="checkpoints/gacl/model.pt",
                   help="torch weights of the shipped scorer (the reference's differentiable critic)")
    p.add_argument("--per-class", type=int, default=5)
    p.add_argument("--split", default="test", choices=["val", "test"], help="val: for tuning; test: to report")
    p.add_argument("--alpha", type=float, default=None, help="both paths (default: the service's default)")
    p.add_argument("--ref-steps", type=int, default=20)
    p.add_argument("--ref-lr", type=float, default=0.2, help="chosen on --split val (docs/results/enhance.md)")
    p.add_argument("--ref-optimizer", default="adam", choices=["sgd", "adam"])
    p.add_argument("--ref-tau", type=float, default=0.5)
    p.add_argument("--ref-batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=1, help="torch threads for the reference")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--figure", type=Path, default=None)
    p.add_argument("--figure-rows", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    vae, ck = load_model(args.vae_checkpoint)
    recs = held_out(Path(args.data), list(ck["classes"]), args.per_class, args.split)
    client = httpx.Client()
    t0 = time.time()
    svc = run_service(client, args.server, recs, args.alpha)
    alpha = svc[0]["alpha"]
    if any(s["cached"] for s in svc):
        raise SystemExit("some /enhance answers came from the cache: start the server with SKETCHQ_CACHE=off")
    cfg = SearchConfig(steps=args.ref_steps, lr=args.ref_lr, alpha=alpha, tau=args.ref_tau,
                       optimizer=args.ref_optimizer)
    t1 = time.time()
    ref, ref_q_start = run_reference(vae, list(ck["classes"]), args.scorer_checkpoint, recs, cfg, args.ref_batch)
    t2 = time.time()
    q_ref = np.array(score(client, args.server, ref))
    q_in = np.array([s["q_in"] for s in svc])
    d_ref = np.array([chamfer(r.strokes, s) for r, s in zip(recs, ref, strict=True)])
    lat = np.array([s["latency_s"] for s in svc])
    result = {
        "sketches": len(recs), "classes": len({r.category for r in recs}), "per_class": args.per_class,
        "split": args.split, "alpha": alpha, "vae_checkpoint": args.vae_checkpoint,
        "service": {**summary(q_in, np.array([s["q_out"] for s in svc]), np.array([s["distance"] for s in svc])),
                    "steps": svc[0]["steps"], "population": svc[0]["population"], "sigma": svc[0]["sigma"],
                    "mean_evaluations": float(np.mean([s["evaluations"] for s in svc])),
                    "latency_p50_s": float(np.percentile(lat, 50)), "latency_p95_s": float(np.percentile(lat, 95)),
                    "latency_mean_s": float(lat.mean()), "wall_s": t1 - t0,
                    "fraction_reconstruction_above_input": float((np.array([s["q_start"] for s in svc])
                                                                  > q_in).mean())},
        "torch_reference": {**summary(q_in, q_ref, d_ref), "config": vars(cfg), "wall_s": t2 - t1,
                            "mean_q_reconstruction_torch_critic": float(np.mean(ref_q_start))},
        "per_sketch": [{"category": r.category, "key_id": r.key_id, "q_in": s["q_in"],
                        "q_service": s["q_out"], "distance_service": s["distance"], "latency_s": s["latency_s"],
                        "q_reference": float(qr), "distance_reference": float(dr)}
                       for r, s, qr, dr in zip(recs, svc, q_ref, d_ref, strict=True)],
    }
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(recs):
        by_class[r.category].append(i)
    result["per_class_mean_gain"] = {
        c: {"service": float(np.mean([svc[i]["q_out"] - svc[i]["q_in"] for i in ix])),
            "reference": float(np.mean([q_ref[i] - q_in[i] for i in ix]))} for c, ix in by_class.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    if args.figure:
        figure(args.figure, recs, svc, ref, q_ref, args.figure_rows)
    print(json.dumps({k: v for k, v in result.items() if k not in ("per_sketch", "per_class_mean_gain")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
