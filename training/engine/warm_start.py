"""Starting a run from another: q's initial scale for GACL, and a checkpoint trained on fewer classes."""

from __future__ import annotations

import torch

from training.data.splits import SketchSet
from training.engine.predict import predict
from training.model.network import SketchQualityNet

SCALE_SAMPLE = 4096  # training sketches whose median q sets the initial feature scale


def set_initial_scale(net: SketchQualityNet, data: SketchSet, target: float, device: str) -> float:
    """Scale f so the median q of the first training sketches is `target` (inside GACL's [l_a, u_a]: q
    outside it starts the 1/q regulariser's collapse); -> the scale."""
    net.feature_scale.fill_(1.0)
    f, _ = predict(net, data.head(SCALE_SAMPLE), device=device)
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
