"""Training loop for the softmax baseline and GACL (one config at the top, as in nanoGPT).

Stages used for the shipped model (see models/README.md):
  1. head=softmax from scratch;  2. head=gacl initialised from stage 1 (`init_from`), with f scaled so
  the median training q starts at `q_init_median` (inside [l_a, u_a]) and the margin and lambda_g ramped
  from 0 to 1 over `ramp_steps`. Both write a checkpoint every epoch and resume with `resume=True`.
A GACL run without `init_from` (from scratch) gets the same scaling and ramp; on this data it learned far
more slowly than the softmax stage (models/README.md), so the shipped recipe keeps the two stages.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from sketchprep.preprocess import PreprocessConfig
from training.augment import augment_batch, resample_batch
from training.data import SketchSet, iterate_batches, load_splits
from training.degrade import ClassReference, degrade_batch, pad_to, rank_loss
from training.gacl import GACLConfig, gacl_loss, norm_softmax_loss
from training.model import ENCODER_PRESETS, SketchQualityNet
from training.monitor import CollapseError, feature_health


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=lambda: ["../shared/data/quickdraw"])
    categories: list[str] | None = None  # None: every category found
    out_dir: str = "runs/default"
    preset: str = "conv-compact"
    head: str = "gacl"  # gacl | softmax
    gacl: dict = field(default_factory=dict)  # GACLConfig fields (kind, s, l_a, u_a, l_m, u_m, lambda_g)
    s: float = 64.0  # softmax scale (GACL takes s from `gacl`)
    epochs: int = 20
    batch_size: int = 256
    optimizer: str = "adam"  # adam | adamw
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "restarts"  # restarts: per-epoch cosine warm restarts (paper) | cosine: one cosine
    warmup_steps: int = 0
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # torch intra-op threads (0: one per core); two runs side by side should take half each
    max_points: int = 128
    augment: bool = True
    drop_points_max: float = 0.0  # > 0: drop up to this fraction of stroke-interior points (density augmentation)
    reverse_prob: float = 0.0  # > 0: draw every stroke backwards with this probability (direction augmentation)
    rank_weight: float = 0.0  # GACL: > 0 adds the degradation ranking loss (training.degrade) with this weight
    rank_margin: float = 0.1  # ... damaged copies must score below exp(-margin) x the clean q
    rank_count: int = 32  # ... sketches per batch that get a damaged copy, split evenly between the kinds
    rank_kinds: str = "jitter,drop"  # ... comma-separated, of training.degrade.KINDS
    rank_jitter_min: float = 0.02  # ... jitter sigma ~ U(min, max), fraction of the longest side
    rank_jitter_max: float = 0.08
    rank_drop_min: float = 0.2  # ... each stroke dropped with probability ~ U(min, max)
    rank_drop_max: float = 0.6
    rank_prefix_min: float = 0.3  # ... prefix: the first floor(r n) of n strokes kept, r ~ U(min, max)
    rank_prefix_max: float = 0.8
    rank_reference: str = "own"  # ... own: below the copy's own clean original | class: also below the
    #                                 running mean log q of clean training drawings of its class
    init_from: str | None = None  # checkpoint to start from (stage 2)
    q_init_median: float | None = 60.0  # GACL: scale f so the median training q starts here (None: off)
    ramp_steps: int = 0  # GACL: margin and lambda_g ramp 0 -> 1 over this many steps
    soft_bins_start: int = 5  # soft binning: cut points during the first `soft_bins_hold` epochs
    soft_bins_end: int = 20  # ... rising linearly to this over `soft_bins_ramp` epochs, then continuous q
    soft_bins_hold: int = 5
    soft_bins_ramp: int = 5
    soft_binning: bool = True
    bin_temperature: float = 0.1
    max_steps: int | None = None  # stop early (tests, smoke runs)
    log_every: int = 50
    fail_on_collapse: bool = True
    resume: bool = False  # continue from out_dir/last.pt

    def gacl_config(self) -> GACLConfig:
        return GACLConfig(**self.gacl)


def soft_bins_for_epoch(cfg: TrainConfig, epoch: int) -> int | None:
    """Number of cut points for this epoch, or None for continuous q."""
    if not cfg.soft_binning or cfg.head != "gacl":
        return None
    if epoch < cfg.soft_bins_hold:
        return cfg.soft_bins_start
    k = epoch - cfg.soft_bins_hold + 1
    if k <= cfg.soft_bins_ramp:
        frac = k / cfg.soft_bins_ramp
        return round(cfg.soft_bins_start + frac * (cfg.soft_bins_end - cfg.soft_bins_start))
    return None


def lr_factor(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "restarts":
        pos = (step % steps_per_epoch) / steps_per_epoch
    else:
        total = cfg.epochs * steps_per_epoch - cfg.warmup_steps
        pos = min(1.0, (step - cfg.warmup_steps) / max(1, total))
    return 0.5 * (1 + math.cos(math.pi * pos))


@torch.no_grad()
def predict(net: SketchQualityNet, data: SketchSet, batch_size: int = 512, device: str = "cpu"):
    """-> (f (N, D), cos (N, C)) over a whole split, in order."""
    net.eval()
    fs, coss = [], []
    for x, lens, _, _ in iterate_batches(data, batch_size, shuffle=False):
        f, cos = net(x.to(device), lens.to(device))
        fs.append(f.cpu())
        coss.append(cos.cpu())
    return torch.cat(fs), torch.cat(coss)


def set_initial_scale(net: SketchQualityNet, data: SketchSet, target: float, device: str) -> float:
    sub = SketchSet(data.classes, data.points[:4096], data.labels[:4096])
    net.feature_scale.fill_(1.0)
    f, _ = predict(net, sub, device=device)
    median = float(torch.linalg.vector_norm(f, dim=1).median())
    net.feature_scale.fill_(target / max(median, 1e-6))
    return float(net.feature_scale)


def load_with_new_classes(net: SketchQualityNet, ck: dict, classes: list[str], train_set: SketchSet,
                          device: str) -> None:
    """Start from a checkpoint trained on a subset of `classes`: encoder, feature scale and the centres of
    the shared classes are copied; each new class's centre is imprinted as the mean direction of its
    training sketches' features (scaled like the old centres), so no class starts at random."""
    missing = [c for c in ck["classes"] if c not in classes]
    if missing:
        raise ValueError(f"init_from checkpoint has classes this run lacks: {missing[:5]}")
    state = dict(ck["model"])
    old = state.pop("centres")  # (C_old, D)
    net.load_state_dict(state, strict=False)
    index = {c: i for i, c in enumerate(ck["classes"])}
    f, _ = predict(net, train_set, device=device)  # (N, D)
    fn = torch.nn.functional.normalize(f, dim=1)
    labels = torch.as_tensor(train_set.labels)
    norm = float(old.norm(dim=1).mean())
    with torch.no_grad():
        for c, name in enumerate(classes):
            if name in index:
                net.centres[c] = old[index[name]]
            elif (labels == c).any():
                net.centres[c] = (torch.nn.functional.normalize(fn[labels == c].mean(0), dim=0) * norm).to(old.device)


def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def save_checkpoint(path: Path, **state) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(cfg: TrainConfig) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pre = PreprocessConfig(max_points=cfg.max_points)
    gcfg = cfg.gacl_config() if cfg.head == "gacl" else None
    t0 = time.time()
    classes, sets = load_splits(cfg.data, cfg.categories, pre)
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
        ck = torch.load(last, map_location=cfg.device, weights_only=False)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        sched.load_state_dict(ck["sched"])
        start_epoch, step = ck["epoch"] + 1, ck["step"]
        print(f"resumed from {last} at epoch {start_epoch}", flush=True)
    elif cfg.init_from:
        ck = torch.load(cfg.init_from, map_location=cfg.device, weights_only=False)
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
    log_path = out / "metrics.jsonl"
    rank_kinds = tuple(cfg.rank_kinds.split(","))
    if cfg.rank_reference not in ("own", "class"):
        raise ValueError(f"rank_reference must be 'own' or 'class', not {cfg.rank_reference!r}")
    class_ref = ClassReference(len(classes)) if cfg.rank_reference == "class" else None
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
                x = augment_batch(x, lens, pre.offset_scale, generator=gen)
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
                t = max(x.shape[1], xd.shape[1])
                x_all = torch.cat([pad_to(x, t), pad_to(xd, t)])  # (B + n, T, 7)
                f_all, cos_all = net(x_all, torch.cat([lens, ld]))  # (B + n, D), (B + n, C)
                f, cos, f_damaged = f_all[: len(y)], cos_all[: len(y)], f_all[len(y):]
            else:
                f, cos = net(x, lens)  # (B, D), (B, C)
            if gcfg is None:
                loss, stats = norm_softmax_loss(cos, y, cfg.s), {}
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
