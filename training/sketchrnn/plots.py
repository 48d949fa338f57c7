"""Loss curves of a Sketch-RNN run from its metrics.jsonl (training and validation, KL weight and lr)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_loss_curves(metrics: Path, path: Path) -> None:
    """Three panels against the step: reconstruction (train, val) | KL (train, val) | KL weight."""
    lines = [json.loads(x) for x in Path(metrics).read_text().splitlines() if x.strip()]
    steps = [r for r in lines if r.get("kind") == "step"]
    evals = [r for r in lines if r.get("kind") == "eval"]
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
