"""The compiled kernel (sketchprep.native) against the implementation it repeats, `flat_to_points`: the same
float32 bits on real sketches of every category, moved and scaled, and on edge cases; None (the numpy path)
for everything that is not the plain shape; the counts the service's limits need.

The extension is built by `pip install -e .` where a C compiler exists (setup.py); these tests require it, since
the README's test command installs it. Without a compiler the service still runs on the numpy path
(`test_without_the_extension_every_call_falls_back`)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from sketchprep import native
from sketchprep.formats import read_ndjson
from sketchprep.preprocess import PreprocessConfig, flat_to_points
from sketchprep.strokes import flat_from_drawing, strokes_to_drawing

DEFAULT = PreprocessConfig()


def reference(drawing: list, cfg: PreprocessConfig = DEFAULT) -> np.ndarray:
    return flat_to_points(flat_from_drawing(drawing), cfg)  # (T, 7) float32


def assert_same_bits(drawing: list, cfg: PreprocessConfig = DEFAULT) -> native.DrawingFeatures:
    got = native.drawing_features(drawing, cfg)
    assert got is not None
    ref = reference(drawing, cfg)
    assert got.points is not None
    assert got.points.dtype == np.float32 and got.points.shape == ref.shape
    assert got.points.tobytes() == ref.tobytes()  # every bit, the sign of zeros included
    return got


def floats(drawing: list) -> list:
    """As a JSON decoder gives it: Python floats."""
    return [[[float(v) for v in row] for row in stroke] for stroke in drawing]


@pytest.fixture(scope="module")
def every_category(data_dir: Path) -> list[list]:
    files = sorted(data_dir.glob("*.ndjson.gz"))
    drawings = [floats(strokes_to_drawing(r.strokes)) for f in files for r in itertools.islice(read_ndjson(f), 6)]
    assert len(drawings) >= 2000
    return drawings


def test_the_extension_is_built() -> None:
    assert native.AVAILABLE, "sketchprep._native is not built: `pip install -e .` needs a C compiler (setup.py)"


def test_same_bits_on_real_sketches_of_every_category(every_category: list[list]) -> None:
    long = 0
    for drawing in every_category:
        got = native.drawing_features(drawing, DEFAULT)
        assert got is not None
        n = sum(len(stroke[0]) for stroke in drawing)
        assert (got.n_points, got.n_strokes) == (n, len(drawing))
        assert got.max_abs == max(abs(v) for stroke in drawing for row in stroke for v in row)
        if got.points is None:  # longer than max_points: the numpy path re-simplifies it
            assert n > DEFAULT.max_points
            long += 1
        else:
            assert_same_bits(drawing)
    assert 0 < long < len(every_category) // 10


def test_same_bits_moved_scaled_and_with_other_settings(every_category: list[list]) -> None:
    rng = np.random.default_rng(3)
    for drawing in every_category[::4]:
        scale, dx, dy = rng.uniform(1e-3, 1e3), rng.uniform(-1e5, 1e5), rng.uniform(-1e5, 1e5)
        moved = [[[x * scale + dx for x in xs], [y * scale + dy for y in ys]] for xs, ys in drawing]
        if sum(len(s[0]) for s in moved) <= DEFAULT.max_points:
            assert_same_bits(moved)
            assert_same_bits(moved, PreprocessConfig(max_points=DEFAULT.max_points, offset_scale=3.7))


@pytest.mark.parametrize("drawing", [
    [[[5.0], [7.0]]],  # one point
    [[[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]],  # zero extent
    [[[1e12], [-1e12]], [[1e12], [-1e12]]],  # zero extent, two strokes
    [[[0.0, 0.0], [0.0, 50.0]]],  # zero width
    [[[0.0, 40.0, 20.0], [1.0, 1.0, 1.0]]],  # zero height
    [[[0.0, 1.0], [0.0, 2.0]], [[3.0], [1.0]], [[2.0, 2.0, 9.0], [5.0, 6.0, 0.5]]],  # a one-point stroke between
    [[[1e-300, 2e-300], [0.0, 1e-300]]],  # tiny extent
    [[[-1e6, 1e6], [1e6, -1e6]]],
], ids=["one point", "zero extent", "zero extent 2 strokes", "zero width", "zero height", "one-point stroke",
        "tiny extent", "big extent"])
def test_same_bits_on_edge_cases(drawing: list) -> None:
    assert_same_bits(drawing)


def test_exactly_max_points_is_computed_and_one_more_is_left_to_numpy() -> None:
    cfg = PreprocessConfig(max_points=5)
    assert_same_bits([[[0.0, 1.0, 2.0], [0.0, 1.0, 0.0]], [[5.0, 6.0], [5.0, 2.0]]], cfg)
    got = native.drawing_features([[[0.0, 1.0, 2.0], [0.0, 1.0, 0.0]], [[5.0, 6.0, 7.0], [5.0, 2.0, 1.0]]], cfg)
    assert got is not None and got.points is None and (got.n_points, got.n_strokes, got.max_abs) == (6, 2, 7.0)


def test_pen_states() -> None:
    got = assert_same_bits([[[0.0, 1.0], [0.0, 1.0]], [[2.0, 3.0, 4.0], [2.0, 0.0, 1.0]]])
    pens = got.points[:, 4:7].tolist()
    assert pens == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0], [0, 0, 1]]
    single = assert_same_bits([[[0.0, 1.0, 2.0], [0.0, 1.0, 0.0]]])
    assert single.points[:, 4:7].tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]


@pytest.mark.parametrize("drawing", [
    [],  # no strokes
    [[[], []]],  # an empty stroke
    [[[0.0, 1.0], [0.0]]],  # rows of different lengths
    [[[0.0, 1.0], [0.0, 1.0], [0.0, 5.0]]],  # a time row
    [[[0.0, 1.0]]],  # one row
    [[[0, 1], [0, 1]]],  # ints, not floats
    [[[0.0, float("nan")], [0.0, 1.0]]],
    [[[0.0, float("inf")], [0.0, 1.0]]],
    [[[0.0, -0.0], [0.0, 1.0]]],  # -0.0: numpy decides which zero is the minimum
    [((0.0, 1.0), (0.0, 1.0))],  # tuples, not lists
    [[[0.0, "1"], [0.0, 1.0]]],
    "not a drawing",
], ids=["no strokes", "empty stroke", "unequal rows", "time row", "one row", "ints", "nan", "inf", "minus zero",
        "tuples", "a string", "a string drawing"])
def test_anything_but_the_plain_shape_goes_to_numpy(drawing: object) -> None:
    assert native.drawing_features(drawing, DEFAULT) is None  # type: ignore[arg-type]


def test_without_the_extension_every_call_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_native", None)
    assert native.drawing_features([[[0.0, 1.0], [0.0, 1.0]]], DEFAULT) is None
