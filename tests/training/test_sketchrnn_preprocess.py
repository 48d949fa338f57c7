"""The differentiable torch twin of the scorer's preprocessing equals sketchprep.preprocess on real sketches."""


import numpy as np
import pytest
import torch

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from sketchprep.stroke5 import pad_batch, stroke5_to_strokes, strokes_to_stroke5
from training.data.torch_features import points_to_features, stroke5_to_features, strokes_to_batch

PRE = PreprocessConfig()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def real_sketches(read_real):
    """Real sketches that fit max_points (the twin's domain: no RDP re-simplification)."""
    recs = read_real(("cat", "monkey", "alarm_clock", "triangle", "eye", "scorpion"), 80)
    out = [r.strokes for r in recs if sum(len(s) for s in r.strokes) <= PRE.max_points]
    assert len(out) > 300
    return out


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_twin_equals_numpy_on_real_sketches(real_sketches, dtype, atol):
    xy, pen_up, alive = strokes_to_batch(real_sketches, dtype)
    feats = points_to_features(xy, pen_up, alive, PRE)
    ref, _ = collate([sketch_to_points(s, PRE) for s in real_sketches], length=xy.shape[1])
    if dtype == torch.float64:  # numpy computes in float64 and rounds once at the end: so does this
        feats = feats.to(torch.float32).to(torch.float64)
    np.testing.assert_allclose(feats.numpy(), ref, atol=atol, rtol=0)


def test_twin_from_stroke5_rows_equals_numpy(real_sketches):
    rows = [strokes_to_stroke5(s) for s in real_sketches]
    x, lens = pad_batch(rows, PRE.max_points)  # end rows after each sketch
    feats, counts = stroke5_to_features(torch.from_numpy(x).double(), cfg=PRE)
    assert counts.tolist() == (lens + 1).tolist()
    ref, _ = collate([sketch_to_points(stroke5_to_strokes(r), PRE) for r in rows], length=PRE.max_points + 1)
    np.testing.assert_allclose(feats.to(torch.float32).numpy(), ref, atol=1e-6, rtol=0)


def test_degenerate_sketches_match_numpy():
    cases = [[np.array([[5.0, 5.0]])], [np.array([[3.0, 3.0], [3.0, 3.0]]), np.array([[3.0, 3.0]])],
             [np.array([[0.0, 0.0], [10.0, 0.0]])], [np.array([[1.0, 2.0]]), np.array([[4.0, 6.0]])]]
    xy, pen_up, alive = strokes_to_batch(cases, torch.float64)
    feats = points_to_features(xy, pen_up, alive, PRE)
    ref, _ = collate([sketch_to_points(s, PRE) for s in cases], length=xy.shape[1])
    np.testing.assert_allclose(feats.numpy(), ref, atol=1e-12, rtol=0)
    assert torch.isfinite(feats).all()


def test_twin_is_differentiable_and_refuses_sketches_numpy_would_resimplify(real_sketches):
    xy, pen_up, alive = strokes_to_batch(real_sketches[:8], torch.float64)
    xy.requires_grad_(True)
    feats = points_to_features(xy, pen_up, alive, PRE)
    (grad,) = torch.autograd.grad((feats[..., 0:4] ** 2).sum(), xy)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert (grad * (1 - alive[..., None])).abs().max() == 0  # padding gets no gradient
    long = [[np.stack([np.arange(200.0), np.sin(np.arange(200.0))], 1)]]
    with pytest.raises(ValueError, match="max_points"):
        points_to_features(*strokes_to_batch(long, torch.float64), PRE)
