"""Training augmentation: point-density coarsening and stroke reversal keep a sketch a valid model input of
the same drawing (checked against sketchprep's own preprocessing of the edited strokes)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points  # noqa: E402
from training.data.augment import augment_batch, resample_batch, stroke_bounds  # noqa: E402

PRE = PreprocessConfig()
RNG = np.random.default_rng(0)
SKETCHES = [
    [RNG.uniform(0, 255, (9, 2)), RNG.uniform(0, 255, (1, 2)), RNG.uniform(0, 255, (6, 2))],
    [RNG.uniform(0, 100, (30, 2))],
    [RNG.uniform(0, 50, (2, 2)), RNG.uniform(0, 50, (3, 2))],
]


def batch(sketches: list) -> tuple[torch.Tensor, torch.Tensor]:
    x, lengths = collate([sketch_to_points(s, PRE) for s in sketches], 40)
    return torch.from_numpy(x), torch.from_numpy(lengths)


def test_stroke_bounds_find_each_points_stroke() -> None:
    x, lengths = batch(SKETCHES[:1])
    valid, first, last = stroke_bounds(x, lengths)
    assert valid[0].sum() == 16
    assert first[0, :16].tolist() == [0] * 9 + [9] + [10] * 6
    assert last[0, :16].tolist() == [8] * 9 + [9] + [15] * 6


def test_reversal_equals_preprocessing_the_reversed_strokes() -> None:
    x, lengths = batch(SKETCHES)
    out, new_lengths = resample_batch(x, lengths, max_drop=0.0, reverse_prob=1.0)
    out = augment_batch(out, new_lengths, PRE.offset_scale, max_degrees=0.0, max_scale=0.0)  # offsets
    expected, _ = batch([[s[::-1] for s in sk] for sk in SKETCHES])
    assert torch.equal(new_lengths, lengths)
    assert torch.allclose(out, expected, atol=1e-5)


def test_coarsening_drops_only_interior_points_and_keeps_order() -> None:
    gen = torch.Generator().manual_seed(0)
    x, lengths = batch(SKETCHES)
    out, new_lengths = resample_batch(x, lengths, max_drop=0.9, reverse_prob=0.0, generator=gen)
    assert (new_lengths <= lengths).all() and new_lengths[1] < lengths[1]  # 28 interior points: some went
    for i in range(len(SKETCHES)):
        n = int(new_lengths[i])
        kept = out[i, :n].numpy()
        orig = x[i, : int(lengths[i])].numpy()
        # every kept point is an original point, in the original order, with its pen state
        pos = [int(np.flatnonzero((np.abs(orig[:, :2] - p[:2]).sum(1) < 1e-6) & (orig[:, 4:] == p[4:]).all(1))[0])
               for p in kept]
        assert pos == sorted(pos) and len(set(pos)) == n
        # stroke ends and starts survive: the same number of strokes and the same pen-up / end points
        assert kept[:, 5].sum() == orig[:, 5].sum() and kept[-1, 6] == 1.0
        assert (out[i, n:] == 0).all()  # padding stays zero
        assert pos[0] == 0
    out2 = augment_batch(out, new_lengths, PRE.offset_scale)
    assert torch.isfinite(out2).all()


def test_no_op_at_zero_rates() -> None:
    x, lengths = batch(SKETCHES)
    out, new_lengths = resample_batch(x, lengths, max_drop=0.0, reverse_prob=0.0)
    assert torch.equal(out, x) and torch.equal(new_lengths, lengths)


def test_mirror_equals_preprocessing_the_mirrored_strokes() -> None:
    x, lengths = batch(SKETCHES)
    out = augment_batch(x, lengths, PRE.offset_scale, max_degrees=0.0, max_scale=0.0, mirror_prob=1.0)
    mirrored = [[np.column_stack([255.0 - s[:, 0], s[:, 1]]) for s in sk] for sk in SKETCHES]
    expected, _ = batch(mirrored)
    assert torch.allclose(out, expected, atol=1e-5)
    assert not torch.allclose(out, x, atol=1e-3)  # the fixture is not symmetric: the flip changed it


def test_mirror_draws_random_numbers_only_when_on() -> None:
    """At mirror_prob 0 the call draws exactly the rotation (B,) and scaling (B, 2) numbers, so runs without
    the mirror keep their augmentation stream; with it, B more come first."""
    x, lengths = batch(SKETCHES)
    b = len(SKETCHES)
    for prob, extra in ((0.0, 0), (0.5, b)):
        gen = torch.Generator().manual_seed(3)
        augment_batch(x, lengths, PRE.offset_scale, generator=gen, mirror_prob=prob)
        ref = torch.Generator().manual_seed(3)
        torch.rand(extra + b, generator=ref), torch.rand(b, 2, generator=ref)
        assert torch.rand(4, generator=gen).tolist() == torch.rand(4, generator=ref).tolist()


@pytest.mark.parametrize("degrees", [10.0, 25.0])
def test_rotation_stays_within_and_spans_its_bound(degrees: float) -> None:
    """A horizontal segment (with a vertical one so the frame does not degenerate) turns by at most
    rotate_degrees, and over 400 draws by more than 90 % of it: the bound set is the bound used."""
    sketch = [np.array([[0.0, 100.0], [200.0, 100.0]]), np.array([[100.0, 0.0], [100.0, 200.0]])]
    x, lengths = batch([sketch] * 400)
    gen = torch.Generator().manual_seed(0)
    out = augment_batch(x, lengths, PRE.offset_scale, max_degrees=degrees, max_scale=0.0, generator=gen)
    d = out[:, 1, 0:2] - out[:, 0, 0:2]  # (B, 2) the first segment's direction after augmentation
    angles = torch.rad2deg(torch.atan2(d[:, 1], d[:, 0])).abs()
    assert angles.max() <= degrees + 1e-3
    assert angles.max() > 0.9 * degrees
