import numpy as np
import pytest

from sketchprep.preprocess import (
    FEATURE_DIM,
    PreprocessConfig,
    collate,
    flat_to_points,
    flats_to_points,
    place_like,
    sketch_to_points,
)
from sketchprep.rdp import rdp, rdp_importance, rdp_mask
from sketchprep.strokes import FlatSketch, flat_from_strokes, point_count, stroke3_to_strokes, strokes_to_stroke3

CFG = PreprocessConfig()


def test_translation_and_uniform_scale_give_the_same_tensor(real_sketches):
    rng = np.random.default_rng(0)
    for rec in real_sketches[::7]:
        base = sketch_to_points(rec.strokes)
        scale = rng.uniform(0.01, 500.0)
        shift = rng.uniform(-1e4, 1e4, 2)
        moved = sketch_to_points([s * scale + shift for s in rec.strokes])
        np.testing.assert_allclose(moved, base, atol=2e-5)


def test_non_uniform_scale_changes_the_tensor(real_sketches):
    rec = real_sketches[0]
    base = sketch_to_points(rec.strokes)
    squashed = sketch_to_points([s * np.array([1.0, 0.5]) for s in rec.strokes])
    assert np.abs(squashed - base).max() > 0.05


def test_stroke_order_is_kept():
    a = np.array([[0.0, 0.0], [10.0, 0.0]])
    b = np.array([[0.0, 10.0], [10.0, 10.0], [10.0, 5.0]])
    ab = sketch_to_points([a, b])
    ba = sketch_to_points([b, a])
    # a's points first: y = 0 -> feature -1; then b's
    np.testing.assert_allclose(ab[:2, 1], [-1.0, -1.0])
    np.testing.assert_allclose(ba[:3, 1], [1.0, 1.0, 0.0])
    # pen states: stroke ends (pen_up) at index 1 for [a, b], end-of-sketch on the last point only
    assert ab[:, 5].tolist() == [0, 1, 0, 0, 0]
    assert ab[:, 6].tolist() == [0, 0, 0, 0, 1]
    assert ab[:, 4].tolist() == [1, 0, 1, 1, 0]


@pytest.mark.parametrize("strokes", [
    [np.array([[5.0, 5.0]])],
    [np.array([[3.0, 3.0], [3.0, 3.0], [3.0, 3.0]])],
    [np.array([[1e12, -1e12]]), np.array([[1e12, -1e12]])],
    [np.array([[0.0, 0.0], [0.0, 50.0]])],  # zero width
])
def test_degenerate_sketches_are_finite(strokes):
    pts = sketch_to_points(strokes)
    assert pts.shape[1] == FEATURE_DIM
    assert np.isfinite(pts).all()
    assert np.abs(pts).max() <= max(2.0, CFG.offset_scale)


def test_long_sketch_is_simplified_to_max_points_and_keeps_its_extent():
    t = np.linspace(0, 20 * np.pi, 5000)
    spiral = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    pts = sketch_to_points([spiral], PreprocessConfig(max_points=100))
    assert len(pts) <= 100
    # the simplified spiral still spans the whole frame: x from -1 to 1 (longest side)
    assert pts[:, 0].min() < -0.95 and pts[:, 0].max() > 0.95


def test_more_strokes_than_budget_keeps_the_first_points_in_order():
    strokes = [np.array([[i, 0.0], [i, 1.0], [i + 0.5, 2.0]]) for i in range(100)]
    pts = sketch_to_points(strokes, PreprocessConfig(max_points=64))
    assert len(pts) == 64
    assert pts[-1, 6] == 1.0
    assert np.all(np.diff(pts[:, 0]) >= -1e-6)  # strokes advance left to right, in the given order


def test_empty_sketch_is_an_error():
    with pytest.raises(ValueError):
        sketch_to_points([])


def test_collate_pads_with_zeros_after_each_sketch():
    a, b = sketch_to_points([np.array([[0.0, 0], [1, 1]])]), sketch_to_points([np.array([[0.0, 0], [1, 2], [3, 1]])])
    batch, lengths = collate([a, b], length=6)
    assert batch.shape == (2, 6, FEATURE_DIM) and lengths.tolist() == [2, 3]
    assert not batch[0, 2:].any() and not batch[1, 3:].any()
    with pytest.raises(ValueError):
        collate([a, b], length=2)


def test_rdp_drops_collinear_points_and_keeps_a_spike():
    line = np.stack([np.arange(10.0), np.zeros(10)], axis=1)
    assert rdp(line, 0.5).tolist() == [[0.0, 0.0], [9.0, 0.0]]
    spike = line.copy()
    spike[4, 1] = 5.0
    assert [4.0, 5.0] in rdp(spike, 0.5).tolist()


def test_stroke3_round_trip(real_sketches):
    for rec in real_sketches[:50]:
        back = stroke3_to_strokes(strokes_to_stroke3(rec.strokes))
        assert len(back) == len(rec.strokes)
        assert point_count(back) == point_count(rec.strokes)
        for x, y in zip(back, rec.strokes, strict=True):
            np.testing.assert_allclose(x, y)


def reference_rdp(points: np.ndarray, eps: float) -> list[int]:
    """Textbook recursive RDP (indices kept), an independent reference for sketchprep.rdp."""
    def rec(a: int, b: int) -> list[int]:
        if b - a < 2:
            return [a, b]
        p, q = points[a], points[b]
        d = q - p
        norm = np.hypot(*d)
        best, best_i = -1.0, a
        for i in range(a + 1, b):
            r = points[i] - p
            dist = np.hypot(*r) if norm == 0 else abs(d[0] * r[1] - d[1] * r[0]) / norm
            if dist > best:
                best, best_i = dist, i
        if best > eps:
            return rec(a, best_i)[:-1] + rec(best_i, b)
        return [a, b]
    return rec(0, len(points) - 1) if len(points) > 1 else [0]


@pytest.mark.parametrize("seed", range(5))
def test_rdp_matches_the_textbook_recursion_at_every_tolerance(seed):
    rng = np.random.default_rng(seed)
    pts = np.cumsum(rng.normal(0, 1, (60, 2)), axis=0)
    pts[10] = pts[9]  # a zero-length segment
    for eps in (0.0, 0.05, 0.3, 1.0, 3.0, 100.0):
        assert np.flatnonzero(rdp_mask(pts, eps)).tolist() == reference_rdp(pts, eps)


@pytest.mark.parametrize("seed", range(5))
def test_rdp_importance_is_the_same_bits_in_python_and_in_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = np.cumsum(rng.normal(0, 1, (200, 2)), axis=0)
    pts[50] = pts[49]  # a zero-length segment
    pts[120:123] = pts[119]  # a segment whose end points coincide
    numpy_only, python_only = rdp_importance(pts, small=0), rdp_importance(pts, small=10**6)
    assert numpy_only.tobytes() == python_only.tobytes()
    assert numpy_only.tobytes() == rdp_importance(pts).tobytes()  # the default mix of both


def test_place_like_matches_the_reference_box_and_keeps_the_shape() -> None:
    shape = [np.array([[0.0, 0.0], [2.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 0.5]])]  # 2 x 1 box
    like = [np.array([[100.0, 40.0], [100.0, 340.0], [160.0, 200.0]])]  # 60 x 300 box, centre (130, 190)
    out = place_like(shape, like)
    xy = np.concatenate(out)
    lo, hi = xy.min(0), xy.max(0)
    assert float((hi - lo).max()) == pytest.approx(300.0)  # the longest side of `like`
    assert np.allclose((lo + hi) / 2, [130.0, 190.0])
    assert np.allclose(hi - lo, [300.0, 150.0])  # aspect ratio of `shape` kept (2:1)
    assert np.allclose(out[1] - out[0][0], (shape[1] - shape[0][0]) * 150.0)  # uniform scale, strokes kept
    point = place_like(shape, [np.array([[5.0, 7.0]])])  # zero-extent reference: everything at its position
    assert np.allclose(np.concatenate(point), [5.0, 7.0])


def test_many_sketches_at_once_give_the_same_bits_as_one_by_one(real_sketches) -> None:
    rng = np.random.default_rng(3)
    flats = [flat_from_strokes(rec.strokes) for rec in real_sketches]
    assert any(len(f.xy) > CFG.max_points for f in flats), "the fixture has long sketches (the one-by-one path)"
    flats += [
        FlatSketch(np.array([[5.0, 5.0]]), [1]),  # one point: zero extent
        FlatSketch(np.array([[3.0, 1.0], [3.0, 1.0], [3.0, 1.0]]), [2, 0, 1]),  # all equal, an empty stroke
        FlatSketch(np.cumsum(rng.normal(0, 1, (400, 2)), axis=0), [150, 250]),  # re-simplified
        FlatSketch(rng.uniform(0, 255, (30, 2)).astype(np.float32), [10, 20]),  # float32 points
        FlatSketch(rng.uniform(0, 255, (7, 2)), [0, 3, 0, 4]),  # empty strokes between
    ]
    for group in (flats, flats[:3], flats[-4:]):  # together, and the fewest that go together
        together = flats_to_points(group, CFG)
        assert len(together) == len(group)
        for flat, got in zip(group, together, strict=True):
            want = flat_to_points(flat, CFG)
            assert got.dtype == np.float32 and got.shape == want.shape
            assert got.tobytes() == want.tobytes()


def test_many_sketches_at_once_refuse_an_empty_one_like_one_by_one() -> None:
    good = FlatSketch(np.array([[0.0, 0.0], [1.0, 1.0]]), [2])
    with pytest.raises(ValueError, match="at least one point"):
        flats_to_points([good, FlatSketch(np.zeros((0, 2)), [0])], CFG)
