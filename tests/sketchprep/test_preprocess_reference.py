"""The single-pass `sketch_to_points` against the straightforward stroke-by-stroke reference it replaced.

The reference below is the previous implementation: `normalise` every stroke, `fit_length` (both still in
sketchprep, unchanged, and used stroke by stroke here), concatenate again, features in float64, then one
cast to float32. The fast version must give
bit-identical arrays (np.array_equal and the same dtype) on real Quick, Draw! sketches of every category
(also moved, scaled and with small max_points, so the RDP path runs on real data) and on edge cases.
`bench/preprocess_speed.py` imports `reference_sketch_to_points` from here to time old against new.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from sketchprep.formats import read_ndjson
from sketchprep.preprocess import (
    FEATURE_DIM,
    PreprocessConfig,
    fit_length,
    flat_to_points,
    normalise,
    sketch_to_points,
)
from sketchprep.strokes import (
    FlatSketch,
    Sketch,
    flat_from_drawing,
    flat_from_points,
    flats_from_drawings,
    point_count,
    strokes_from_drawing,
    strokes_from_points,
    strokes_to_drawing,
)

PER_CATEGORY = 15  # x 344 categories = 5160 real sketches
DEFAULT = PreprocessConfig()


# --- the reference: the implementation before the single-pass rewrite -------------------------------

def reference_sketch_to_points(strokes: Sketch, cfg: PreprocessConfig = DEFAULT) -> np.ndarray:
    """(T, 7) float32, the previous implementation."""
    strokes = [s for s in strokes if len(s) > 0]
    if not strokes:
        raise ValueError("a sketch needs at least one point")
    strokes = fit_length(normalise(strokes), cfg.max_points, cfg.rdp_start)  # stroke by stroke
    xy = np.concatenate(strokes, axis=0)  # (T, 2)
    t = len(xy)
    feats = np.zeros((t, FEATURE_DIM), dtype=np.float64)
    feats[:, 0:2] = 2.0 * (xy - 0.5)
    feats[1:, 2:4] = cfg.offset_scale * np.diff(xy, axis=0)
    stroke_ends = np.cumsum([len(s) for s in strokes]) - 1
    feats[:, 4] = 1.0
    feats[stroke_ends, 4] = 0.0
    feats[stroke_ends, 5] = 1.0
    feats[t - 1, 4:7] = (0.0, 0.0, 1.0)
    return feats.astype(np.float32)


# --- comparisons -------------------------------------------------------------------------------------

def assert_identical(strokes: Sketch, cfg: PreprocessConfig = DEFAULT) -> np.ndarray:
    new = sketch_to_points(strokes, cfg)
    ref = reference_sketch_to_points(strokes, cfg)
    assert new.dtype == ref.dtype == np.float32
    assert new.shape == ref.shape and new.shape[1] == FEATURE_DIM
    assert np.array_equal(new, ref)
    assert np.isfinite(new).all()
    return new


def sample_every_category(data_dir: Path, per_category: int) -> list[Sketch]:
    files = sorted(data_dir.glob("*.ndjson.gz"))
    return [r.strokes for f in files for r in itertools.islice(read_ndjson(f), per_category)]


@pytest.fixture(scope="module")
def every_category(data_dir: Path) -> list[Sketch]:
    sketches = sample_every_category(data_dir, PER_CATEGORY)
    assert len(sketches) >= 5000
    return sketches


def test_identical_on_real_sketches_of_every_category(every_category: list[Sketch]) -> None:
    long = 0
    for strokes in every_category:
        long += len(assert_identical(strokes)) < point_count(strokes)
    assert long > 0  # some real sketches exceed max_points and went through the RDP path


def test_identical_on_moved_and_scaled_real_sketches(every_category: list[Sketch]) -> None:
    """Non-integer coordinates in other frames, as clients send them."""
    rng = np.random.default_rng(1)
    for strokes in every_category[::5]:
        scale, shift = rng.uniform(1e-3, 1e3), rng.uniform(-1e5, 1e5, 2)
        assert_identical([s * scale + shift for s in strokes])


@pytest.mark.parametrize("cfg", [PreprocessConfig(max_points=32), PreprocessConfig(max_points=8, offset_scale=3.0),
                                 PreprocessConfig(max_points=64, rdp_start=0.05)])
def test_identical_with_small_budgets(every_category: list[Sketch], cfg: PreprocessConfig) -> None:
    """Small max_points: most real sketches go through RDP at growing tolerance or the first-points cut."""
    for strokes in every_category[::3]:
        assert_identical(strokes, cfg)


EDGE_CASES: dict[str, Sketch] = {
    "one point": [np.array([[5.0, 7.0]])],
    "one point, integers": [np.array([[5, 7]])],
    "zero extent": [np.array([[3.0, 3.0], [3.0, 3.0], [3.0, 3.0]])],
    "zero extent, two strokes": [np.array([[1e12, -1e12]]), np.array([[1e12, -1e12]])],
    "zero width": [np.array([[0.0, 0.0], [0.0, 50.0]])],
    "zero height": [np.array([[0.0, 1.0], [40.0, 1.0], [20.0, 1.0]])],
    "empty strokes in between": [np.zeros((0, 2)), np.array([[0.0, 0.0], [1.0, 2.0]]), np.zeros((0, 2)),
                                 np.array([[3.0, 1.0]])],
    "one-point strokes": [np.array([[float(i), float(i % 3)]]) for i in range(20)],
    "exactly max_points": [np.stack([np.arange(128.0), np.sin(np.arange(128.0))], axis=1)],
    "max_points + 1": [np.stack([np.arange(129.0), np.sin(np.arange(129.0))], axis=1)],
    "spiral of 5000 points": [np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
                              for t in [np.linspace(0, 20 * np.pi, 5000)]],
    "many strokes (more than max_points / 2)": [np.array([[i, 0.0], [i, 1.0], [i + 0.5, 2.0]]) for i in range(100)],
    "300 two-point strokes": [np.array([[i, 0.0], [i + 1.0, 3.0]]) for i in range(300)],
    "tiny coordinates": [np.array([[1e-300, 0.0], [2e-300, 1e-300]])],
    "huge coordinates": [np.array([[-1e9, 1e9], [1e9, -1e9], [0.0, 0.0]])],
    "float32 input": [np.array([[0.1, 0.2], [0.7, 0.3], [0.5, 0.9]], dtype=np.float32)],
    "lists instead of arrays": [[[0.0, 0.0], [10.0, 5.0]], [[3.0, 3.0]]],
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
@pytest.mark.parametrize("cfg", [PreprocessConfig(), PreprocessConfig(max_points=16)], ids=["default", "max16"])
def test_identical_on_edge_cases(name: str, cfg: PreprocessConfig) -> None:
    assert_identical(EDGE_CASES[name], cfg)


def test_identical_on_random_walks() -> None:
    rng = np.random.default_rng(2)
    for _ in range(100):
        n_strokes = int(rng.integers(1, 40))
        strokes = [np.cumsum(rng.normal(0, rng.uniform(0.1, 50), (int(rng.integers(1, 60)), 2)), axis=0)
                   for _ in range(n_strokes)]
        assert_identical(strokes)


def test_both_refuse_an_empty_sketch() -> None:
    for fn in (sketch_to_points, reference_sketch_to_points):
        with pytest.raises(ValueError):
            fn([np.zeros((0, 2))])


# --- the service's hot path: JSON lists -> one array per sketch (flat_from_*) -> flat_to_points ---------

@pytest.mark.parametrize("cfg", [DEFAULT, PreprocessConfig(max_points=32)], ids=["default", "max32"])
def test_flat_path_from_json_lists_is_identical(every_category: list[Sketch], cfg: PreprocessConfig) -> None:
    """What the service does with a parsed request (the drawing as JSON lists, in any frame, in both wire
    formats) gives the reference's array bit for bit."""
    rng = np.random.default_rng(3)
    for strokes in every_category[::2]:
        drawing = strokes_to_drawing([s * rng.uniform(1e-2, 1e2) + rng.uniform(-1e4, 1e4, 2) for s in strokes])
        ref = reference_sketch_to_points(strokes_from_drawing(drawing), cfg)
        via_drawing = flat_to_points(flat_from_drawing(drawing), cfg)
        points = [np.stack(stroke, axis=1).tolist() for stroke in drawing]  # the same strokes as [[x, y], ...]
        via_points = flat_to_points(flat_from_points(points), cfg)
        assert np.array_equal(flat_from_points(points).xy, np.concatenate(strokes_from_points(points)))
        for got in (via_drawing, via_points):
            assert got.dtype == np.float32 and np.array_equal(got, ref)


def test_flat_sketch_keeps_the_strokes() -> None:
    drawing = [[[0, 10, 20], [0, 10, 0]], [[5], [7]], [[1, 2], [3, 4], [0, 1]]]  # a time row on the last
    flat = flat_from_drawing(drawing)
    assert flat.lengths == [3, 1, 2] and flat.xy.shape == (6, 2)
    assert [s.tolist() for s in flat.strokes()] == [[[0, 0], [10, 10], [20, 0]], [[5, 7]], [[1, 3], [2, 4]]]
    assert flat_from_drawing([]).strokes() == []
    with pytest.raises(ValueError):  # the totals agree, the strokes do not: never paired up silently
        flat_from_drawing([[[0, 1, 2], [0, 1]], [[3, 4], [2, 3, 4]]])


def test_many_drawings_at_once_are_each_drawing_alone(every_category: list[Sketch]) -> None:
    """flats_from_drawings (a request's sketches in one conversion) gives flat_from_drawing's arrays, a time row
    ignored as there, and the arrays are views into the one array it returns."""
    drawings = [strokes_to_drawing(strokes) for strokes in every_category[:50]]
    drawings[3] = [[*stroke, list(range(len(stroke[0])))] for stroke in drawings[3]]  # with a time row
    xy, flats = flats_from_drawings(drawings)
    assert xy.shape == (sum(len(f.xy) for f in flats), 2)
    for flat, drawing in zip(flats, drawings, strict=True):
        alone = flat_from_drawing(drawing)
        assert flat.lengths == alone.lengths and np.array_equal(flat.xy, alone.xy)
        assert np.shares_memory(flat.xy, xy)
    with pytest.raises(ValueError):
        flats_from_drawings([drawings[0], [[[0, 1, 2], [0, 1]], [[3, 4], [2, 3, 4]]]])


def test_flat_path_skips_strokes_without_points() -> None:
    """A stroke of no points (possible offline, not through the API) must not put a pen-up on the wrong point."""
    xy = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]])
    for lengths in ([0, 2, 0, 1], [2, 1, 0], [0, 0, 3]):
        strokes = FlatSketch(xy, lengths).strokes()
        assert np.array_equal(flat_to_points(FlatSketch(xy, lengths)), reference_sketch_to_points(strokes))
    with pytest.raises(ValueError):
        flat_to_points(FlatSketch(np.zeros((0, 2)), [0, 0]))
