"""Checkpoint utilities: weight averaging gives the element-wise mean and refuses checkpoints of other networks."""

from __future__ import annotations

import pytest
import torch

from training.engine.checkpoints import average_checkpoints, load_net, save_checkpoint
from training.model import ENCODER_PRESETS, SketchQualityNet


def checkpoint(path, seed: int, classes: list[str]) -> dict:
    torch.manual_seed(seed)
    spec = ENCODER_PRESETS["conv-compact"]
    net = SketchQualityNet(spec.kind, spec.config, len(classes))
    state = dict(model=net.state_dict(), optim={"lr": 1}, sched={}, epoch=seed, step=10 * seed, config={},
                 classes=classes, preprocess={"max_points": 128}, encoder={"kind": spec.kind, "config": spec.config},
                 head="gacl", gacl=None)
    save_checkpoint(path, **state)
    return state


def test_average_is_the_elementwise_mean_with_the_last_ones_metadata(tmp_path) -> None:
    a = checkpoint(tmp_path / "a.pt", 1, ["x", "y"])
    b = checkpoint(tmp_path / "b.pt", 2, ["x", "y"])
    avg = average_checkpoints([tmp_path / "a.pt", tmp_path / "b.pt"])
    for k, v in avg["model"].items():
        assert v.dtype == a["model"][k].dtype
        assert torch.allclose(v, (a["model"][k] + b["model"][k]) / 2, atol=1e-7)
    assert not torch.equal(avg["model"]["centres"], b["model"]["centres"])
    assert avg["epoch"] == 2 and "optim" not in avg and "sched" not in avg
    save_checkpoint(tmp_path / "avg.pt", **avg)
    net, _ = load_net(tmp_path / "avg.pt")  # loads as a scorer
    assert torch.equal(net.centres.detach(), avg["model"]["centres"])


def test_average_refuses_another_network(tmp_path) -> None:
    checkpoint(tmp_path / "a.pt", 1, ["x", "y"])
    checkpoint(tmp_path / "b.pt", 2, ["y", "x"])
    with pytest.raises(ValueError, match="another network"):
        average_checkpoints([tmp_path / "a.pt", tmp_path / "b.pt"])
