"""A labelled attribution set built without human labels (paper Sec. 4.4, issue 4), numpy only.

- benign: real held-out sketches, unchanged.
- malicious: random scribbles from several generators, with stroke counts and extents like real sketches
  (Quick, Draw! frame: 0..255, longest side about 255).
- rare_hard: real held-out sketches with one to three outlier strokes inserted at random positions in the
  stroke order (long fragmented strokes, scribbles, small unrelated decorations); the inserted indices are
  kept, so stroke removal can be scored for precision and recall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sketchprep.strokes import Sketch, box

FRAME = 255.0


@dataclass
class AttributionCase:
    label: str  # benign | malicious | rare_hard
    strokes: Sketch
    generator: str
    category: str | None = None
    injected: list[int] = field(default_factory=list)  # indices of added strokes (rare_hard)


def _walk(rng: np.random.Generator, n: int, step: float, start: np.ndarray | None = None) -> np.ndarray:
    start = rng.uniform(0, FRAME, 2) if start is None else start
    return np.clip(start + np.cumsum(rng.normal(0, step, (n, 2)), axis=0), 0, FRAME)


def random_walks(rng: np.random.Generator, n_strokes: int) -> Sketch:
    return [_walk(rng, int(rng.integers(8, 40)), rng.uniform(5, 25)) for _ in range(n_strokes)]


def tangle(rng: np.random.Generator, n_strokes: int) -> Sketch:
    """Smooth random curves: sums of random sinusoids across the frame."""
    out = []
    for _ in range(n_strokes):
        t = np.linspace(0, 1, int(rng.integers(15, 50)))[:, None]
        freq = rng.uniform(0.5, 4, (1, 2, 3))  # 3 sinusoids per axis
        phase = rng.uniform(0, 2 * np.pi, (1, 2, 3))
        amp = rng.uniform(20, 80, (1, 2, 3))
        xy = FRAME / 2 + (amp * np.sin(2 * np.pi * freq * t[:, :, None] + phase)).sum(-1)
        out.append(np.clip(xy, 0, FRAME))
    return out


def zigzag_fill(rng: np.random.Generator, n_strokes: int) -> Sketch:
    """Back-and-forth hatching over random rectangles, one stroke each."""
    out = []
    for _ in range(n_strokes):
        x0, y0 = rng.uniform(0, FRAME * 0.6, 2)
        w, h = rng.uniform(40, FRAME - max(x0, y0), 2)
        rows = int(rng.integers(4, 14))
        ys = y0 + np.linspace(0, h, rows)
        xs = np.where(np.arange(rows) % 2 == 0, x0, x0 + w)
        out.append(np.stack([xs, ys], 1) + rng.normal(0, 2, (rows, 2)))
    return out


def few_random_strokes(rng: np.random.Generator, n_strokes: int) -> Sketch:
    """Straight or bent strokes between random points."""
    return [rng.uniform(0, FRAME, (int(rng.integers(2, 5)), 2)) for _ in range(min(n_strokes, 4))]


MALICIOUS = {"random_walk": random_walks, "tangle": tangle, "zigzag_fill": zigzag_fill,
             "few_random_strokes": few_random_strokes}


def long_fragmented(rng: np.random.Generator, lo: np.ndarray, ext: float) -> list[np.ndarray]:
    """A long wavy line across the sketch, broken into 2-4 dashes (each a separate stroke)."""
    a, b = lo + rng.uniform(0, ext, 2), lo + rng.uniform(0, ext, 2)
    while np.hypot(*(b - a)) < 0.6 * ext:
        a, b = lo + rng.uniform(0, ext, 2), lo + rng.uniform(0, ext, 2)
    t = np.linspace(0, 1, 40)[:, None]
    normal = np.array([-(b - a)[1], (b - a)[0]]) / np.hypot(*(b - a))
    line = a + t * (b - a) + normal * (0.05 * ext * np.sin(rng.uniform(2, 8) * np.pi * t))
    cuts = np.sort(rng.choice(np.arange(5, 35), int(rng.integers(1, 4)), replace=False))
    return [p for p in np.split(line, cuts) if len(p) >= 2]


def scribble(rng: np.random.Generator, lo: np.ndarray, ext: float) -> list[np.ndarray]:
    start = lo + rng.uniform(0, ext, 2)
    return [start + np.cumsum(rng.normal(0, 0.07 * ext, (25, 2)), axis=0)]


def decoration(rng: np.random.Generator, lo: np.ndarray, ext: float) -> list[np.ndarray]:
    """A small star or spiral near a corner of the sketch."""
    c = lo + rng.choice([0.1, 0.9], 2) * ext
    r = 0.08 * ext
    if rng.random() < 0.5:
        ang = np.linspace(0, 4 * np.pi, 10)
        return [c + np.stack([np.cos(ang), np.sin(ang)], 1) * r * np.where(np.arange(10) % 2, 0.4, 1.0)[:, None]]
    ang = np.linspace(0, 6 * np.pi, 30)
    return [c + np.stack([np.cos(ang), np.sin(ang)], 1) * (r * ang / ang.max())[:, None]]


OUTLIERS = {"long_fragmented": long_fragmented, "scribble": scribble, "decoration": decoration}


def make_rare_hard(strokes: Sketch, rng: np.random.Generator) -> tuple[Sketch, list[int], str]:
    """Insert 1-3 outlier groups at random positions; returns (strokes, injected indices, kinds)."""
    lo, ext = box(strokes)
    out = list(strokes)
    injected_flags = [False] * len(out)
    kinds = []
    for _ in range(int(rng.integers(1, 4))):
        kind = str(rng.choice(list(OUTLIERS)))
        kinds.append(kind)
        for s in OUTLIERS[kind](rng, lo, ext):
            pos = int(rng.integers(0, len(out) + 1))
            out.insert(pos, s)
            injected_flags.insert(pos, True)
    return out, [i for i, f in enumerate(injected_flags) if f], "+".join(kinds)


def build_attribution_set(real: list[tuple[Sketch, str]], n_per_label: int, seed: int = 0) -> list[AttributionCase]:
    """`real`: (strokes, category) of held-out sketches; n_per_label cases of each label."""
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(real))
    benign = [AttributionCase("benign", real[i][0], "real", real[i][1]) for i in pick[:n_per_label]]
    rare = []
    for i in pick[n_per_label : 2 * n_per_label]:
        strokes, injected, kinds = make_rare_hard(real[i][0], rng)
        rare.append(AttributionCase("rare_hard", strokes, kinds, real[i][1], injected))
    stroke_counts = [len(s) for s, _ in real]
    malicious = []
    names = list(MALICIOUS)
    for k in range(n_per_label):
        gen = names[k % len(names)]
        n = int(np.clip(rng.choice(stroke_counts), 1, 25))
        malicious.append(AttributionCase("malicious", MALICIOUS[gen](rng, n), gen))
    return benign + malicious + rare
