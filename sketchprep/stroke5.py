"""Stroke-5 sequences (Ha and Eck 2018) in numpy: conversion to and from strokes, padding, decoder noise.

Shared by the training package (training.sketchrnn) and the service (service.vae), which must not import
torch. Row i-1 of a sketch's N-1 rows describes point p_i: (dx, dy, pen down, pen lifts after, end of
sketch); p_0 is the origin (the decoder's start token S0); padding rows are (0, 0, 0, 0, 1).
"""

from __future__ import annotations

import numpy as np

from sketchprep.strokes import Sketch

EOS_ROW = np.array([0.0, 0.0, 0.0, 0.0, 1.0], dtype=np.float32)


def strokes_to_stroke5(strokes: Sketch) -> np.ndarray:
    """Absolute strokes -> (N-1, 5) float32 stroke-5 rows (no S0, no padding); leading dots dropped."""
    strokes = [np.asarray(s, dtype=np.float64) for s in strokes if len(s) > 0]
    while len(strokes) > 1 and len(strokes[0]) == 1:
        strokes = strokes[1:]
    if not strokes:
        return np.zeros((0, 5), dtype=np.float32)
    xy = np.concatenate(strokes, axis=0)  # (N, 2)
    ends = np.zeros(len(xy), dtype=bool)
    ends[np.cumsum([len(s) for s in strokes]) - 1] = True
    rows = np.zeros((len(xy) - 1, 5), dtype=np.float32)
    rows[:, 0:2] = np.diff(xy, axis=0)
    rows[:, 3] = ends[1:]
    rows[:, 2] = 1.0 - rows[:, 3]
    return rows


def encoder_rows(strokes: Sketch, max_rows: int) -> np.ndarray:
    """A sketch -> the (L, 5) stroke-5 rows a Sketch-RNN encoder reads: at most `max_rows`, and at least one
    (a single point becomes one zero offset that lifts the pen)."""
    rows = strokes_to_stroke5(strokes)[:max_rows]
    if len(rows) == 0:
        rows = np.array([[0.0, 0.0, 0.0, 1.0, 0.0]], dtype=np.float32)
    return rows


def stroke5_length(rows: np.ndarray) -> int:
    """Number of real rows: everything before the first row whose pen state is end-of-sketch."""
    pen = np.asarray(rows)[:, 2:5].argmax(axis=1) if len(rows) else np.zeros(0, dtype=int)
    end = np.flatnonzero(pen == 2)
    return int(end[0]) if len(end) else len(rows)


def stroke5_to_strokes(rows: np.ndarray, length: int | None = None) -> Sketch:
    """(T, 5) rows (pen state = arg-max of p1..p3; stops at the first end row or at `length`) -> strokes.

    The sketch starts at the origin with the pen down (S0); a stroke ends after a row whose pen state is p2.
    Always returns at least the origin point.
    """
    rows = np.asarray(rows, dtype=np.float64)
    n = stroke5_length(rows) if length is None else int(length)
    rows = rows[:n]
    xy = np.concatenate([np.zeros((1, 2)), np.cumsum(rows[:, 0:2], axis=0)], axis=0)  # (n+1, 2)
    lift = np.concatenate([[False], rows[:, 2:5].argmax(axis=1) == 1])  # (n+1,) pen lifts after point
    cuts = np.flatnonzero(lift[:-1]) + 1
    return [p for p in np.split(xy, cuts) if len(p) > 0]


def pad_batch(seqs: list[np.ndarray], t_max: int) -> tuple[np.ndarray, np.ndarray]:
    """List of (L_i, 5) -> (B, t_max, 5) padded with end rows (0, 0, 0, 0, 1), lengths (B,) int64."""
    batch = np.tile(EOS_ROW, (len(seqs), t_max, 1))
    for i, s in enumerate(seqs):
        batch[i, : len(s)] = s
    return batch, np.array([len(s) for s in seqs], dtype=np.int64)


def make_noise_numpy(rng: np.random.Generator, batch: int, steps: int, num_mixtures: int) -> dict[str, np.ndarray]:
    """The same noise for ONNX Runtime callers: {input name: float32 array}."""
    def g(*shape: int) -> np.ndarray:
        return (-np.log(-np.log(rng.uniform(1e-9, 1.0 - 1e-9, size=shape)))).astype(np.float32)

    return {"gumbel_pi": g(batch, steps, num_mixtures), "gumbel_pen": g(batch, steps, 3),
            "normal_xy": rng.standard_normal((batch, steps, 2)).astype(np.float32)}
