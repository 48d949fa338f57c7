"""Train the class-conditional Sketch-RNN VAE (one config at the top, as in nanoGPT).

Writes to out_dir: metrics.jsonl (step, eval and run records), last.pt every `checkpoint_every` steps and
at the end (also when `max_minutes` runs out), best.pt at the lowest validation loss. `resume=True`
continues from last.pt exactly: batch order, augmentation and z noise are functions of (seed, step).

pad_to=batch leaves out only the end-after-end rows of the pen loss (the real rows and each sketch's first
end row are always there), which generation never uses; the loss is still divided by N_max = max_seq_len + 1.
Validation numbers use the pen loss up to the first end row in both modes, so runs compare. Beside another
training job, pass threads=1: more threads than free cores make it several times slower.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
import tyro

from training.data.splits import SketchSet
from training.engine.checkpoints import METRICS_FILE, append_jsonl, load_checkpoint, save_checkpoint
from training.engine.config import DataOptions
from training.sketchrnn.data import eval_batches, load_stroke5_splits, offset_std, training_batches
from training.sketchrnn.loss import LossConfig, kl_loss, learning_rate, reconstruction_loss, total_loss
from training.sketchrnn.model import PRESETS, SketchRNN, SketchRNNConfig, build_model, parameter_count

PRESET_NAMES = tuple(PRESETS)


@dataclass
class TrainConfig(DataOptions):
    out_dir: Annotated[str, tyro.conf.arg(name="out")] = "runs/sketchrnn"
    """run folder: last.pt, best.pt and metrics.jsonl"""
    preset: Literal[PRESET_NAMES] = "cpu"
    """model size (training/sketchrnn/model.py)"""
    max_seq_len: int = 127
    """stroke-5 rows a sketch may have; longer sketches are dropped"""
    batch_size: int = 100
    """sketches per step"""
    pad_to: Literal["max_seq_len", "batch"] = "max_seq_len"
    """pad batches to max_seq_len + 1 (Sketch-RNN) or to their longest sketch + 1 (bucketed, faster)"""
    bucket_batches: int = 20
    """pad_to=batch: sort groups of this many batches by length"""
    scale_aug: float = 0.15
    """random per-axis scale of the offsets (Sketch-RNN's random_scale); 0: off"""
    recurrent_dropout: float | None = None
    """recurrent dropout on the decoder's cell input (None: the preset's)"""
    loss: Annotated[LossConfig, tyro.conf.OmitArgPrefixes] = field(default_factory=LossConfig)
    """the objective's KL weighting and the learning-rate schedule"""
    grad_clip: float = 1.0
    """clip every gradient element to [-grad_clip, grad_clip], as Sketch-RNN"""
    max_steps: int = 10_000
    """steps to train in all"""
    max_minutes: float | None = None
    """stop (with a checkpoint) after this much wall time; resume later"""
    log_every: int = 20
    """steps between two step records"""
    eval_every: int = 500
    """steps between two validation evaluations"""
    eval_sketches: int = 1000
    """validation sketches per evaluation (the first ones of the split)"""
    checkpoint_every: int = 500
    """steps between two writes of last.pt"""
    seed: int = 0
    """seed of the initialisation, batch order, augmentation and z noise"""
    threads: int | None = None
    """torch threads (None: every core; use 1 beside another training job)"""
    device: str = "cpu"
    """torch device"""
    resume: bool = False
    """continue from out/last.pt"""


def run_cli(cfg: TrainConfig) -> int:
    print(json.dumps(train(cfg)))
    return 0


@torch.no_grad()
def evaluate(model: SketchRNN, data: SketchSet, cfg: TrainConfig) -> dict:
    """Validation reconstruction loss and KL, z sampled with a fixed seed, over the first `eval_sketches`
    sketches. The pen term covers the real rows and the first end row (what generation uses), so the number
    is comparable between pad_to modes (pad_to=batch never trains the end-after-end rows)."""
    was_training = model.training
    model.eval()
    gen = torch.Generator(device=cfg.device).manual_seed(cfg.seed + 12345)
    tot = {"val_recon": 0.0, "val_offset_nll": 0.0, "val_pen_ce": 0.0, "val_kl": 0.0}
    n = 0
    for x, lens, y in eval_batches(data, cfg.batch_size, cfg.max_seq_len + 1, cfg.eval_sketches):
        x, lens, y = x.to(cfg.device), lens.to(cfg.device), y.to(cfg.device)
        mix, mu, logvar = model(x, lens, y, gen)
        l_s, l_p = reconstruction_loss(mix, model.normalise(x), lens, pen_to_end=True)
        kl = kl_loss(mu, logvar)
        b = len(y)
        for k, v in (("val_offset_nll", l_s), ("val_pen_ce", l_p), ("val_recon", l_s + l_p), ("val_kl", kl)):
            tot[k] += float(v) * b
        n += b
    model.train(was_training)
    out = {k: v / max(n, 1) for k, v in tot.items()}
    out["val_loss"] = out["val_recon"] + out["val_kl"]  # the negative ELBO per row (KL weight 1, no tolerance)
    return out


def train(cfg: TrainConfig) -> dict:
    t_start = time.time()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    last, best = out / "last.pt", out / "best.pt"
    if last.exists() and not cfg.resume:
        raise FileExistsError(f"{out} already holds a run: pass --resume or choose another --out")
    classes, sets, counts = load_stroke5_splits(cfg.data, cfg.categories, cfg.max_seq_len,
                                                max_per_class=cfg.max_per_class)
    print(f"data: {len(classes)} classes, {json.dumps(counts)} ({time.time() - t_start:.0f}s)", flush=True)
    overrides = {} if cfg.recurrent_dropout is None else {"recurrent_dropout": cfg.recurrent_dropout}
    ck = load_checkpoint(last, cfg.device) if cfg.resume and last.exists() else None
    if ck is not None:
        if ck["classes"] != classes:
            raise ValueError(f"{last} was trained on other classes")
        model = SketchRNN(SketchRNNConfig(**ck["model_config"])).to(cfg.device)
        model.load_state_dict(ck["model"])
    else:
        model = build_model(cfg.preset, len(classes), cfg.max_seq_len, offset_std(sets["train"]), **overrides)
        model = model.to(cfg.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.loss.lr)
    step, best_val = 0, float("inf")
    log_path = out / METRICS_FILE
    if ck is not None:
        opt.load_state_dict(ck["optim"])
        step, best_val = ck["step"], ck["best_val"]
        print(f"resumed from {last} at step {step}", flush=True)
    append_jsonl(log_path, {"kind": "resume" if ck else "start", "step": step, "counts": counts,
                            "parameters": parameter_count(model), "offset_std": float(model.offset_std),
                            "config": asdict(cfg)})
    lcfg = cfg.loss

    def checkpoint(path: Path) -> None:
        save_checkpoint(path, model=model.state_dict(), optim=opt.state_dict(), step=step, best_val=best_val,
                        config=asdict(cfg), model_config=model.cfg.to_dict(), classes=classes,
                        offset_std=float(model.offset_std), counts=counts)

    model.train()
    summary: dict = {"step": step}
    recent: list[dict] = []
    t_log, stop = time.time(), None
    batches = training_batches(sets["train"], cfg.batch_size, cfg.max_seq_len, cfg.pad_to, cfg.bucket_batches,
                               cfg.scale_aug, cfg.seed, step)
    while step < cfg.max_steps:
        _, x, lens, y = next(batches)
        x, lens, y = x.to(cfg.device), lens.to(cfg.device), y.to(cfg.device)
        for group in opt.param_groups:
            group["lr"] = learning_rate(lcfg, step)
        gen = torch.Generator(device=cfg.device).manual_seed(cfg.seed * 1_000_003 + step)  # z and dropout noise
        mix, mu, logvar = model(x, lens, y, gen)
        loss, stats = total_loss(mix, model.normalise(x), lens, mu, logvar, lcfg, step, cfg.max_seq_len + 1)
        if not torch.isfinite(loss.detach()):
            raise FloatingPointError(f"non-finite loss at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        recent.append({**stats, "rows": x.shape[1]})
        if step % cfg.log_every == 0 or step == cfg.max_steps:
            now = time.time()
            rec = {"kind": "step", "step": step, "lr": learning_rate(lcfg, step - 1),
                   "sec_per_step": (now - t_log) / len(recent),
                   **{k: float(np.mean([r[k] for r in recent])) for k in recent[0]}}
            append_jsonl(log_path, rec)
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()), flush=True)
            summary = rec
            recent, t_log = [], now
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            ev = evaluate(model, sets["val"], cfg)
            improved = ev["val_loss"] < best_val
            best_val = min(best_val, ev["val_loss"])
            ev_rec = {"kind": "eval", "step": step, **ev, "minutes": (time.time() - t_start) / 60}
            append_jsonl(log_path, ev_rec)
            print(json.dumps(ev_rec), flush=True)
            summary = {**summary, **ev_rec}
            if improved:
                checkpoint(best)
        if cfg.max_minutes is not None and time.time() - t_start > 60 * cfg.max_minutes:
            stop = "time"
        if step % cfg.checkpoint_every == 0 or step >= cfg.max_steps or stop:
            checkpoint(last)
        if stop:
            break
    summary = {**summary, "kind": "end", "step": step, "stopped": stop or "max_steps",
               "minutes": (time.time() - t_start) / 60}
    append_jsonl(log_path, summary)
    return summary
