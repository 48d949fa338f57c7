"""PNG figures: q versus angle (paper Fig. 7) and training curves."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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


def plot_training_curves(runs: dict[str, Path], path: Path) -> None:
    """Validation accuracy and median q per epoch for each run (metrics.jsonl), against cumulative time."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for name, metrics in runs.items():
        epochs = [json.loads(line) for line in Path(metrics).read_text().splitlines()]
        epochs = [e for e in epochs if e.get("kind") == "epoch"]
        t = np.cumsum([e["epoch_seconds"] for e in epochs]) / 60
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
