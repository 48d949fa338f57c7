"""Checkpoints and the metrics.jsonl log, for both training loops (the scorer's and the Sketch-RNN's).

A checkpoint is a torch-saved dict written atomically (tmp file, then rename). The scorer's holds `model`,
`optim`, `sched`, `epoch`, `step`, `config` (the TrainConfig as a dict), `classes`, `preprocess`,
`encoder` ({kind, config}), `head` and `gacl` (the resolved GACLConfig, None for softmax).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from training.model.network import SketchQualityNet

METRICS_FILE = "metrics.jsonl"


def save_checkpoint(path: Path, **state) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> dict:
    return torch.load(path, map_location=map_location, weights_only=False)


def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def read_jsonl(path: str | Path, kind: str | None = None) -> list[dict]:
    """The records of a metrics.jsonl, only those of `kind` ("step", "epoch", "eval", ...) when given."""
    records = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    return records if kind is None else [r for r in records if r.get("kind") == kind]


def load_net(checkpoint: str | Path) -> tuple[SketchQualityNet, dict]:
    """A scorer checkpoint -> (network in eval mode, checkpoint dict)."""
    ck = load_checkpoint(checkpoint)
    net = SketchQualityNet(ck["encoder"]["kind"], ck["encoder"]["config"], len(ck["classes"]))
    net.load_state_dict(ck["model"])
    net.eval()
    return net, ck


def probability_scale(ck: dict) -> float:
    """The scale s of a scorer checkpoint's softmax (GACL's s; for a softmax run its config's)."""
    gacl = ck["gacl"] or ck["config"].get("gacl") or {}
    return float(gacl.get("s", ck["config"].get("s", 64.0)))


def average_checkpoints(paths: list[Path]) -> dict:
    """The mean of several scorer checkpoints' weights (weight averaging of one run's last epochs, Izmailov et
    al. 2018), with the last one's metadata and no optimiser state. They must be one network (classes,
    preprocessing and encoder equal); the encoders have LayerNorm only, so no statistics need recomputing."""
    cks = [load_checkpoint(p) for p in paths]
    last = cks[-1]
    for p, ck in zip(paths, cks, strict=True):
        if (ck["classes"], ck["preprocess"], ck["encoder"]) != (last["classes"], last["preprocess"], last["encoder"]):
            raise ValueError(f"{p}: another network than {paths[-1]} (classes, preprocessing or encoder differ)")
    model = {k: (sum(ck["model"][k].double() for ck in cks) / len(cks)).to(v.dtype) for k, v in last["model"].items()}
    return {**{k: v for k, v in last.items() if k not in ("optim", "sched")}, "model": model,
            "averaged_from": [str(p) for p in paths]}
