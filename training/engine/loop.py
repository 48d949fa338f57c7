"""The scorer's training loop (softmax baseline and GACL): one epoch after another, a checkpoint and an
epoch record each, resumable (`resume=True`), stopped with CollapseError when the features collapse."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from sketchprep.preprocess import PreprocessConfig
from training.data.augment import augment_batch, resample_batch
from training.data.batches import iterate_batches
from training.data.outliers import OutlierPool
from training.data.splits import load_splits
from training.engine.checkpoints import METRICS_FILE, append_jsonl, load_checkpoint, save_checkpoint
from training.engine.collapse import CollapseError, feature_health
from training.engine.config import TrainConfig
from training.engine.predict import predict
from training.engine.schedule import lr_factor, soft_bins_for_epoch
from training.engine.warm_start import load_with_new_classes, set_initial_scale
from training.losses.degrade import ClassReference, degrade_batch, pad_to, rank_loss
from training.losses.distill import EnsembleTeacher, distill_loss
from training.losses.gacl import gacl_loss, norm_softmax_loss
from training.losses.outlier import outlier_loss
from training.model import ENCODER_PRESETS, SketchQualityNet


def run_cli(cfg: TrainConfig) -> int:
    """`sketchq-train train`: exit code 3 when the features collapse."""
    try:
        summary = train(cfg)
    except CollapseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    print(json.dumps(summary))
    return 0


def train(cfg: TrainConfig) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pre = PreprocessConfig(max_points=cfg.max_points)
    gcfg = cfg.gacl_config
    t0 = time.time()
    classes, sets = load_splits(cfg.data, cfg.categories, pre, max_per_class=cfg.max_per_class, seed=cfg.seed)
    print(f"data: {len(classes)} classes, " + ", ".join(f"{k} {len(v)}" for k, v in sets.items())
          + f" ({time.time() - t0:.0f}s)", flush=True)
    spec = ENCODER_PRESETS[cfg.preset]
    net = SketchQualityNet(spec.kind, spec.config, len(classes)).to(cfg.device)
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(sets["train"]) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(cfg, s, steps_per_epoch))
    start_epoch, step = 0, 0
    last = out / "last.pt"
    if last.exists() and not cfg.resume:
        raise FileExistsError(f"{out} already holds a run: pass --resume or choose another --out")
    if cfg.resume and last.exists():
        ck = load_checkpoint(last, cfg.device)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        sched.load_state_dict(ck["sched"])
        start_epoch, step = ck["epoch"] + 1, ck["step"]
        print(f"resumed from {last} at epoch {start_epoch}", flush=True)
    elif cfg.init_from:
        ck = load_checkpoint(cfg.init_from, cfg.device)
        if ck["classes"] == classes:
            net.load_state_dict(ck["model"])
        else:
            load_with_new_classes(net, ck, classes, sets["train"], cfg.device)
    if start_epoch == 0 and gcfg is not None and cfg.q_init_median:
        # warm start or from scratch: q must start inside [l_a, u_a] (pilot 1 collapsed when it did not)
        scale = set_initial_scale(net, sets["train"], cfg.q_init_median, cfg.device)
        print(f"feature scale set to {scale:.3f} (median training q -> {cfg.q_init_median})", flush=True)
    rng = np.random.default_rng(cfg.seed + start_epoch)
    gen = torch.Generator().manual_seed(cfg.seed + start_epoch)
    log_path = out / METRICS_FILE
    rank_kinds = tuple(cfg.rank_kinds.split(","))
    if cfg.rank_reference not in ("own", "class"):
        raise ValueError(f"rank_reference must be 'own' or 'class', not {cfg.rank_reference!r}")
    class_ref = ClassReference(len(classes)) if cfg.rank_reference == "class" else None
    outliers = None
    if cfg.outlier_count > 0 and gcfg is not None:
        outliers = OutlierPool.load(cfg.data, classes, pre)
        print(f"outlier exposure: {len(outliers)} drawings of {len(outliers.categories)} other categories",
              flush=True)
    teacher = None
    if cfg.distill_from and gcfg is not None:
        teacher = EnsembleTeacher.load(cfg.distill_from, classes, pre.to_dict(), cfg.device)
        print(f"ensemble distillation from {len(teacher)} scorers", flush=True)
    summary: dict = {}
    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        bins = soft_bins_for_epoch(cfg, epoch)
        t_epoch, cpu_epoch = time.time(), time.process_time()
        losses = []
        bar = tqdm(iterate_batches(sets["train"], cfg.batch_size, True, rng), total=steps_per_epoch,
                   desc=f"epoch {epoch}", mininterval=10, disable=None)
        for x, lens, y, _ in bar:
            x, lens, y = x.to(cfg.device), lens.to(cfg.device), y.to(cfg.device)
            if cfg.augment and (cfg.drop_points_max > 0 or cfg.reverse_prob > 0):
                x, lens = resample_batch(x, lens, cfg.drop_points_max, cfg.reverse_prob, generator=gen)
            if cfg.augment:
                x = augment_batch(x, lens, pre.offset_scale, cfg.rotate_degrees, cfg.scale_range, gen,
                                  cfg.mirror_prob)
            n_rank = min(cfg.rank_count, len(y)) if gcfg is not None and cfg.rank_weight > 0 else 0
            if n_rank:
                # donors of foreign strokes: the rest of the batch (the whole batch when the last, short
                # batch is all ranked)
                donors = slice(n_rank, None) if n_rank < len(y) else slice(None)
                xd, ld, usable = degrade_batch(x[:n_rank], lens[:n_rank], x[donors], lens[donors], pre,
                                               rank_kinds,
                                               (cfg.rank_jitter_min, cfg.rank_jitter_max),
                                               (cfg.rank_drop_min, cfg.rank_drop_max), rng, gen,
                                               (cfg.rank_prefix_min, cfg.rank_prefix_max))
            else:
                xd, ld = x[:0], lens[:0]
            if outliers is not None:
                xo, lo = outliers.sample(cfg.outlier_count, rng,
                                         x.shape[1] if cfg.outlier_lengths == "batch" else None)
                xo, lo = xo.to(cfg.device), lo.to(cfg.device)
                if cfg.augment:
                    xo = augment_batch(xo, lo, pre.offset_scale, cfg.rotate_degrees, cfg.scale_range, gen,
                                       cfg.mirror_prob)
            else:
                xo, lo = x[:0], lens[:0]
            t = max(x.shape[1], xd.shape[1], xo.shape[1])
            x_all = torch.cat([pad_to(x, t), pad_to(xd, t), pad_to(xo, t)])  # (B + n_rank + n_out, T, 7)
            lens_all = torch.cat([lens, ld, lo])  # (B + n_rank + n_out,)
            f_all, cos_all = net(x_all, lens_all)  # (B + n_rank + n_out, D), (..., C)
            b, n_d = len(y), len(ld)
            f, cos = f_all[:b], cos_all[:b]  # (B, D), (B, C)
            f_damaged, f_out = f_all[b:b + n_d], f_all[b + n_d:]  # (n_rank, D), (n_out, D)
            if gcfg is None:
                loss, stats = norm_softmax_loss(cos, y, cfg.gacl.s), {}
            else:
                ramp = min(1.0, (step + 1) / cfg.ramp_steps) if cfg.ramp_steps else 1.0
                loss, stats = gacl_loss(f, cos, y, gcfg, ramp, bins, cfg.bin_temperature)
                if n_rank:
                    q_all = torch.linalg.vector_norm(torch.cat([f[:n_rank], f_damaged]), dim=1)  # (2n,)
                    ref = None
                    if class_ref is not None:
                        class_ref.update(torch.linalg.vector_norm(f, dim=1), y)
                        ref = class_ref(y[:n_rank])  # (n,) other clean drawings of the class
                    rank = rank_loss(q_all[:n_rank], q_all[n_rank:], usable, cfg.rank_margin, ref)
                    loss = loss + ramp * cfg.rank_weight * rank
                    stats["rank"] = float(rank.detach())
                if len(f_out):
                    oe = outlier_loss(torch.linalg.vector_norm(f, dim=1), torch.linalg.vector_norm(f_out, dim=1),
                                      cfg.outlier_margin)
                    loss = loss + ramp * cfg.outlier_weight * oe
                    stats["outlier"] = float(oe.detach())
                if teacher is not None:
                    dist = distill_loss(torch.linalg.vector_norm(f_all, dim=1), teacher.target(x_all, lens_all), y)
                    loss = loss + cfg.distill_weight * dist
                    stats["distill"] = float(dist.detach())
            if not torch.isfinite(loss.detach()):
                raise FloatingPointError(f"non-finite loss at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
            if step % cfg.log_every == 0:
                rec = {"kind": "step", "epoch": epoch, "step": step, "loss": losses[-1],
                       "lr": sched.get_last_lr()[0], "soft_bins": bins, **stats}
                append_jsonl(log_path, rec)
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
            if cfg.max_steps and step >= cfg.max_steps:
                break
        f_val, cos_val = predict(net, sets["val"], device=cfg.device)
        health = feature_health(f_val)
        acc = float((cos_val.argmax(1).numpy() == np.asarray(sets["val"].labels)).mean())
        summary = {"kind": "epoch", "epoch": epoch, "step": step, "train_loss": float(np.mean(losses)),
                   "val_acc": acc, "epoch_seconds": time.time() - t_epoch,
                   "epoch_cpu_seconds": time.process_time() - cpu_epoch, "soft_bins": bins, **health}
        append_jsonl(log_path, summary)
        print(json.dumps(summary), flush=True)
        state = dict(model=net.state_dict(), optim=opt.state_dict(), sched=sched.state_dict(), epoch=epoch,
                     step=step, config=asdict(cfg), classes=classes, preprocess=pre.to_dict(),
                     encoder={"kind": spec.kind, "config": spec.config}, head=cfg.head,
                     gacl=gcfg.to_dict() if gcfg else None)
        save_checkpoint(out / f"epoch_{epoch:03d}.pt", **state)
        save_checkpoint(last, **state)
        if health["collapsed"] and cfg.fail_on_collapse:
            raise CollapseError(f"feature collapse at epoch {epoch}: {health}")
        if cfg.max_steps and step >= cfg.max_steps:
            break
    return summary
