"""Tiny synthetic sketch data for fast training tests (three visibly different classes)."""

import json
from pathlib import Path

import numpy as np
import pytest

from sketchprep.preprocess import sketch_to_points


def synthetic_sketch(kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    t = np.linspace(0, 2 * np.pi, int(rng.integers(12, 30)))
    if kind == "circle":
        r = 50 + rng.normal(0, 2, len(t))
        return [np.stack([100 + r * np.cos(t), 100 + r * np.sin(t)], 1)]
    if kind == "zigzag":
        n = int(rng.integers(6, 14))
        return [np.stack([np.arange(n) * 10.0, (np.arange(n) % 2) * 40.0 + rng.normal(0, 2, n)], 1)]
    # "cross": two strokes
    a = np.array([[0.0, 0.0], [80.0, 80.0]]) + rng.normal(0, 3, (2, 2))
    b = np.array([[80.0, 0.0], [0.0, 80.0]]) + rng.normal(0, 3, (2, 2))
    return [a, b]


CLASSES = ["circle", "cross", "zigzag"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models: one thread is faster, and the CI machine's other cores are often busy."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def classes() -> list[str]:
    return list(CLASSES)


@pytest.fixture(scope="session")
def synthetic_folder(tmp_path_factory) -> Path:
    """Quick, Draw! NDJSON files, 120 sketches per class, some flagged unrecognized."""
    folder = tmp_path_factory.mktemp("synthetic")
    rng = np.random.default_rng(0)
    for c in CLASSES:
        with open(folder / f"{c}.ndjson", "w") as fh:
            for i in range(120):
                strokes = synthetic_sketch(c, rng)
                drawing = [[s[:, 0].round(2).tolist(), s[:, 1].round(2).tolist()] for s in strokes]
                fh.write(json.dumps({"word": c, "recognized": i % 10 != 0, "drawing": drawing}) + "\n")
    return folder


@pytest.fixture(scope="session")
def synthetic_batch():
    rng = np.random.default_rng(1)
    pts = [sketch_to_points(synthetic_sketch(CLASSES[i % 3], rng)) for i in range(12)]
    return pts, np.arange(12) % 3
