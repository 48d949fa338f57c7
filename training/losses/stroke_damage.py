"""Damages made on a drawing's strokes rather than on its model input: foreign real strokes added (`add`, shaken
for `scrawl`), a collage of foreign strokes (`collage`) and the drawing's own strokes redrawn by an unsteady hand
(`wobble`). training.losses.degrade turns the input into strokes (`points_to_strokes`), applies these and
preprocesses the result as the service would. Strokes are (N, 2) arrays in the model's [0, 1] frame.
"""

from __future__ import annotations

import numpy as np

from sketchprep.rdp import rdp
from sketchprep.strokes import Sketch


def points_to_strokes(points: np.ndarray) -> Sketch:
    """(T, 7) model input -> strokes in its [0, 1] frame (split after pen-up and end-of-sketch points)."""
    xy = (points[:, 0:2].astype(np.float64) + 1.0) / 2.0
    ends = np.flatnonzero((points[:, 5] > 0.5) | (points[:, 6] > 0.5))
    return [s for s in np.split(xy, ends[:-1] + 1) if len(s)]


def _placed(stroke: np.ndarray, rng: np.random.Generator, size: tuple[float, float]) -> np.ndarray:
    """A stroke rescaled so its longest side is U(size) of the frame, placed at a random spot in [0, 1]^2."""
    lo, ext = stroke.min(0), max(float((stroke.max(0) - stroke.min(0)).max()), 1e-3)
    scale = rng.uniform(*size) / ext
    return (stroke - lo) * scale + rng.uniform(0.0, 1.0, 2)


SHAKE_SIGMA = (0.04, 0.12)  # scrawl: noise per point, a fraction of the stroke's longest side
SHAKE_POINTS = 16  # scrawl: a shaken stroke has at least this many points


def arc_length(stroke: np.ndarray) -> np.ndarray:
    """(N, 2) -> (N,) the distance along the stroke from its first point to each point."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(stroke, axis=0), axis=1))])


def along(stroke: np.ndarray, arc: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The points at distances `at` (M,) along a stroke (N, 2) whose `arc_length` is `arc` -> (M, 2)."""
    return np.stack([np.interp(at, arc, stroke[:, 0]), np.interp(at, arc, stroke[:, 1])], axis=1)


def shaken(stroke: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A stroke (N, 2) redrawn by a shaky hand: resampled to max(N, SHAKE_POINTS) points evenly along its length,
    each moved by Gaussian noise of U(SHAKE_SIGMA) x its longest side (its shape stays, its line wobbles)."""
    arc = arc_length(stroke)  # (N,)
    if arc[-1] > 0.0:
        stroke = along(stroke, arc, np.linspace(0.0, arc[-1], max(len(stroke), SHAKE_POINTS)))
    side = max(float((stroke.max(0) - stroke.min(0)).max()), 1e-3)
    return stroke + rng.normal(0.0, rng.uniform(*SHAKE_SIGMA) * side, stroke.shape)


def add_foreign_strokes(strokes: Sketch, donors: list[Sketch], rng: np.random.Generator,
                        shake: bool = False) -> Sketch:
    """1-3 strokes of other real sketches (`donors`), rescaled and placed at random, inserted at random
    positions in the stroke order: an unrelated decoration made of real pen strokes (`shake`: each redrawn
    by a shaky hand, `shaken`)."""
    out = list(strokes)
    for _ in range(int(rng.integers(1, 4))):
        donor = donors[int(rng.integers(len(donors)))]
        stroke = _placed(donor[int(rng.integers(len(donor)))], rng, (0.2, 0.7))
        if shake:
            stroke = shaken(stroke, rng)
        out.insert(int(rng.integers(0, len(out) + 1)), stroke)
    return out


def collage(n_strokes: int, donors: list[Sketch], rng: np.random.Generator) -> Sketch:
    """A sketch of `n_strokes` real strokes taken from random donors and placed at random: pen strokes that
    draw nothing."""
    out = []
    for _ in range(max(1, n_strokes)):
        donor = donors[int(rng.integers(len(donors)))]
        out.append(_placed(donor[int(rng.integers(len(donor)))], rng, (0.2, 1.0)))
    return out


WOBBLE_SIGMA = (0.01, 0.03)  # wobble: the drift's size per sketch, a fraction of the drawing's longest side (1)
WOBBLE_STEP = 0.01  # wobble: a stroke is redrawn with a point every this much of the frame along it
WOBBLE_KNOTS = 0.12  # wobble: the drift takes a new random value every this much of the frame (a waver, not a jitter)
WOBBLE_RDP = 2.0 / 255.0  # wobble: simplified like the Quick, Draw! data (RDP, epsilon 2 on its 255-unit frame)


def wobbled(strokes: Sketch, rng: np.random.Generator) -> Sketch:
    """The drawing's own strokes (each (N, 2), model frame) redrawn by an unsteady hand: each stroke resampled
    every WOBBLE_STEP along its length and moved by a smooth random drift (Gaussian values of standard deviation
    U(WOBBLE_SIGMA) every WOBBLE_KNOTS of its length, joined linearly), then simplified as the data is. Its
    shape stays; its lines waver and carry more points, like the wobbly drawings q should rank below clean
    ones (a jittered line keeps its points and stays straight between them)."""
    sigma = rng.uniform(*WOBBLE_SIGMA)
    out = []
    for stroke in strokes:
        arc = arc_length(stroke)  # (N,)
        if arc[-1] <= 0.0:  # a dot: moved, nothing to waver
            out.append(stroke + rng.normal(0.0, sigma, 2))
            continue
        at = np.linspace(0.0, arc[-1], max(len(stroke), int(arc[-1] / WOBBLE_STEP) + 1))  # (M,)
        line = along(stroke, arc, at)  # (M, 2)
        knots = np.linspace(0.0, arc[-1], int(arc[-1] / WOBBLE_KNOTS) + 2)  # (K,) K >= 2
        values = rng.normal(0.0, sigma, (len(knots), 2))  # (K, 2)
        drift = np.stack([np.interp(at, knots, values[:, k]) for k in range(2)], axis=1)  # (M, 2)
        out.append(rdp(line + drift, WOBBLE_RDP))
    return out
