"""PNG figures: q versus angle (paper Fig. 7), training curves of both loops, accuracy against training cost,
sketch grids, the agreement study."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from training.engine.checkpoints import read_jsonl  # noqa: E402
from training.evaluation.agreement import TARGETS  # noqa: E402


def plot_q_vs_theta(q: np.ndarray, theta: np.ndarray, path: Path, title: str) -> None:
    """Scatter of q against the angle to the true class centre (GACL: an "L" shape expected)."""
    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    ax.scatter(np.degrees(theta), q, s=3, alpha=0.3)
    ax.set_xlabel("angle to the true class centre (degrees)")
    ax.set_ylabel("q = ||f(x)||")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_training_curves(runs: dict[str, tuple[Path, float]], path: Path) -> None:
    """Validation accuracy and median q per epoch for each run (metrics.jsonl, seconds already spent
    before its first epoch, e.g. in the softmax stage it started from), against cumulative time."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for name, (metrics, offset) in runs.items():
        epochs = read_jsonl(metrics, "epoch")
        t = (offset + np.cumsum([e["epoch_seconds"] for e in epochs])) / 60
        a1.plot(t, [e["val_acc"] for e in epochs], marker="o", label=name)
        a2.plot(t, [e["q_median"] for e in epochs], marker="o", label=name)
    a1.set_xlabel("CPU wall time (min, 2 cores)")
    a1.set_ylabel("validation top-1")
    a2.set_xlabel("CPU wall time (min, 2 cores)")
    a2.set_ylabel("median validation q")
    a1.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_accuracy_vs_cost(curves: dict[str, dict[str, list[float]]], path: Path) -> None:
    """Validation top-1 after each epoch against the cumulative CPU time and wall time of training.
    curves: name -> {"cpu": seconds per epoch, "wall": seconds per epoch, "val_acc": per epoch}."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120, sharey=True)
    for ax, key, label in ((axes[0], "cpu", "training process CPU time (min)"),
                           (axes[1], "wall", "wall time (min, 2 cores)")):
        for name, c in curves.items():
            ax.plot(np.cumsum(c[key]) / 60, c["val_acc"], marker="o", label=name)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation top-1")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_sketch(ax, strokes, highlight: set[int] | None = None, title: str | None = None) -> None:
    """Draw strokes (image y axis pointing down); strokes in `highlight` in red."""
    for i, s in enumerate(strokes):
        s = np.asarray(s)
        ax.plot(s[:, 0], s[:, 1], color="crimson" if highlight and i in highlight else "black", lw=1.2)
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=8)


def plot_sketch_grid(items: list[tuple[list, set[int] | None, str]], path: Path, cols: int = 6) -> None:
    """items: (strokes, highlighted stroke indices, title) drawn in a grid."""
    rows = (len(items) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2 * rows), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (strokes, hl, title) in zip(axes.flat, items, strict=False):
        draw_sketch(ax, strokes, hl, title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_agreement(rows: list[dict], path: Path,
                   targets: tuple[float, float] = (TARGETS["agree"], TARGETS["agree_clear"])) -> None:
    """Horizontal bars: each run's agreement with the raters (agreed pairs, with its 95 % interval, and
    clear pairs), the targets drawn as lines."""
    names = [r["name"] for r in rows]
    y = np.arange(len(rows))
    ag = np.array([r["agree"]["agreement"] for r in rows])
    lo = np.array([r["agree"]["ci95"][0] for r in rows])
    hi = np.array([r["agree"]["ci95"][1] for r in rows])
    cl = np.array([r["agree_clear"]["agreement"] for r in rows])
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.2), dpi=120)
    ax.barh(y - 0.2, ag, 0.4, xerr=[ag - lo, hi - ag], label="pairs the raters agree on (95 % CI)", color="#4c72b0")
    ax.barh(y + 0.2, cl, 0.4, label="pairs both raters call clear", color="#dd8452")
    for t, c in zip(targets, ("#4c72b0", "#dd8452"), strict=True):
        ax.axvline(t, color=c, ls="--", lw=1)
    ax.axvline(0.5, color="grey", lw=0.8)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0.45, 0.9)
    ax.set_xlabel("agreement with the raters (dashed: targets)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_agreement_overview(groups: dict[str, list[tuple[float, float]]], shipped: tuple[str, float, float],
                            path: Path) -> None:
    """One row a recipe (groups: recipe -> (agreed, clear) agreement of each training), two panels (pairs the
    raters agree on, pairs both call clear): every training a dot, the recipe's mean a bar, the shipped
    scorer and the target as lines."""
    names = list(groups)
    y = np.arange(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.28 * len(names) + 1.6), dpi=120, sharey=True)
    panels = ((TARGETS["agree"], "pairs the raters agree on"), (TARGETS["agree_clear"], "pairs both raters call clear"))
    for panel, (ax, (target, title)) in enumerate(zip(axes, panels, strict=True)):
        means = np.array([np.mean([p[panel] for p in groups[n]]) for n in names])
        ax.barh(y, means - 0.5, left=0.5, height=0.6, color="#c6d3e6", label="recipe mean")
        for i, n in enumerate(names):
            pts = [p[panel] for p in groups[n]]
            ax.plot(pts, [i] * len(pts), "o", ms=3.5, color="#4c72b0", label="one training" if i == 0 else None)
        ax.axvline(target, color="#c44e52", ls="--", lw=1.2, label=f"target {target}")
        ax.axvline(shipped[1 + panel], color="#55a868", lw=1.2, label=f"{shipped[0]}")
        ax.set_xlim(0.55, 0.9)
        ax.set_title(f"{title}, target {target}", fontsize=9)
        ax.margins(y=0.01)
        ax.set_xlabel("agreement of q with the raters")
        ax.grid(axis="x", lw=0.3)
    axes[0].set_yticks(y, names, fontsize=7)
    axes[0].invert_yaxis()
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_loss_curves(metrics: Path, path: Path) -> None:
    """A Sketch-RNN run's metrics.jsonl in three panels against the step: reconstruction (train, val) |
    KL (train, val) | KL weight and learning rate."""
    steps, evals = read_jsonl(metrics, "step"), read_jsonl(metrics, "eval")
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.8), dpi=110)
    a1.plot([r["step"] for r in steps], [r["recon"] for r in steps], lw=0.8, label="train")
    a1.plot([r["step"] for r in evals], [r["val_recon"] for r in evals], marker="o", label="validation")
    a1.set_ylabel("reconstruction loss L_R (per row)")
    a2.plot([r["step"] for r in steps], [r["kl"] for r in steps], lw=0.8, label="train")
    a2.plot([r["step"] for r in evals], [r["val_kl"] for r in evals], marker="o", label="validation")
    a2.set_ylabel("KL per latent dimension")
    a3.plot([r["step"] for r in steps], [r["kl_weight"] for r in steps], label="KL weight")
    a3.plot([r["step"] for r in steps], [r["lr"] * 100 for r in steps], label="learning rate x 100")
    for ax in (a1, a2, a3):
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
