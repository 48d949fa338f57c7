"""Degradation ranking (training.losses.degrade): the damaged copies are valid model inputs of the damaged drawing
(checked against sketchprep's own preprocessing of the kept strokes) and the hinge only pushes damaged q."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points  # noqa: E402
from training.losses.degrade import (  # noqa: E402
    ClassReference,
    degrade_batch,
    detail_batch,
    drop_strokes_batch,
    jitter_batch,
    prefix_batch,
    rank_loss,
)
from training.losses.stroke_damage import (  # noqa: E402
    SHAKE_POINTS,
    WOBBLE_RDP,
    WOBBLE_SIGMA,
    add_foreign_strokes,
    collage,
    points_to_strokes,
    shaken,
    wobbled,
)

PRE = PreprocessConfig()
RNG = np.random.default_rng(1)
# stroke lengths all different, so the kept strokes can be told apart by their lengths
SKETCHES = [
    [RNG.uniform(0, 255, (n, 2)) for n in (9, 1, 6, 4)],
    [RNG.uniform(0, 100, (30, 2))],
    [RNG.uniform(0, 50, (2, 2)), RNG.uniform(0, 80, (3, 2))],
    [RNG.uniform(0, 10, (n, 2)) for n in (5, 2, 7, 3, 8, 11)],
]


def batch(sketches: list) -> tuple[torch.Tensor, torch.Tensor]:
    x, lengths = collate([sketch_to_points(s, PRE) for s in sketches], 48)
    return torch.from_numpy(x), torch.from_numpy(lengths)


def stroke_lengths(x: np.ndarray, n: int) -> list[int]:
    ends = np.flatnonzero((x[:n, 5] > 0.5) | (x[:n, 6] > 0.5))
    return np.diff(np.concatenate([[-1], ends])).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_dropping_strokes_equals_preprocessing_the_kept_strokes(seed: int) -> None:
    x, lengths = batch(SKETCHES)
    out, new_lengths, damaged = drop_strokes_batch(x, lengths, PRE.offset_scale, (0.3, 0.7),
                                                   torch.Generator().manual_seed(seed))
    assert damaged.tolist() == [True, False, True, True]
    for i, sk in enumerate(SKETCHES):
        n = int(new_lengths[i])
        kept_lengths = stroke_lengths(out[i].numpy(), n)
        if not damaged[i]:
            torch.testing.assert_close(out[i], x[i], atol=1e-5, rtol=0)
            continue
        assert 1 <= len(kept_lengths) < len(sk), "at least one stroke dropped, at least one kept"
        kept = [s for s in sk if len(s) in kept_lengths]
        assert [len(s) for s in kept] == kept_lengths, "stroke order kept"
        np.testing.assert_allclose(out[i, :n].numpy(), sketch_to_points(kept, PRE), atol=1e-5)
        assert not out[i, n:].any(), "padding stays zero"


def test_jitter_moves_points_keeps_pen_states_and_the_frame() -> None:
    x, lengths = batch(SKETCHES)
    same = jitter_batch(x, lengths, PRE.offset_scale, (0.0, 0.0))
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    out = jitter_batch(x, lengths, PRE.offset_scale, (0.05, 0.05), torch.Generator().manual_seed(0))
    assert torch.equal(out[:, :, 4:], x[:, :, 4:])
    for i, n in enumerate(lengths.tolist()):
        xy = out[i, :n, :2]
        assert (xy - x[i, :n, :2]).abs().max() > 0.01
        assert torch.allclose(xy.amin(0), torch.tensor([-1.0, -1.0]), atol=1e-5), "top-left back at the origin"
        assert abs(float((xy.amax(0) - xy.amin(0)).max()) - 2.0) < 1e-5, "longest side renormalised"


def test_degrade_batch_gives_each_kind_its_part_of_the_batch() -> None:
    x, lengths = batch(SKETCHES)
    donors, donor_lengths = batch(SKETCHES[::-1])
    out, new_lengths, usable = degrade_batch(x, lengths, donors, donor_lengths, PRE, ("jitter", "drop"),
                                             (0.05, 0.05), (0.5, 0.5), np.random.default_rng(0),
                                             torch.Generator().manual_seed(0))
    assert new_lengths[:2].tolist() == lengths[:2].tolist()
    assert (new_lengths[2:] < lengths[2:]).all()
    assert usable.tolist() == [True, True, True, True]
    out, new_lengths, usable = degrade_batch(x, lengths, donors, donor_lengths, PRE, ("add", "collage"),
                                             (0.05, 0.05), (0.5, 0.5), np.random.default_rng(0))
    assert (new_lengths[:2] > lengths[:2]).all(), "foreign strokes added"
    assert usable.all() and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade_batch(x, lengths, donors, donor_lengths, PRE, ("blur",), (0, 0), (0, 0), np.random.default_rng(0))


def test_points_to_strokes_inverts_preprocessing() -> None:
    for sk in SKETCHES:
        pts = sketch_to_points(sk, PRE)
        back = points_to_strokes(pts)
        assert [len(s) for s in back] == [len(s) for s in sk]
        np.testing.assert_allclose(sketch_to_points(back, PRE), pts, atol=1e-5)


def test_added_strokes_keep_the_sketch_and_come_from_the_donors() -> None:
    rng = np.random.default_rng(3)
    own = points_to_strokes(sketch_to_points(SKETCHES[3], PRE))
    donors = [points_to_strokes(sketch_to_points(s, PRE)) for s in SKETCHES[:3]]
    donor_lengths = {len(s) for d in donors for s in d}
    out = add_foreign_strokes(own, donors, rng)
    assert 1 <= len(out) - len(own) <= 3
    mine = [r for r in out if any(r is s for s in own)]
    assert len(mine) == len(own) and all(a is b for a, b in zip(mine, own, strict=True)), "own strokes kept, in order"
    assert all(len(r) in donor_lengths for r in out if not any(r is s for s in own))
    made = collage(5, donors, rng)
    assert len(made) == 5 and all(len(s) in donor_lengths for s in made)
    for s in made:
        side = float((s.max(0) - s.min(0)).max())
        assert 0.2 - 1e-9 <= side <= 1.0 + 1e-9 or side == 0.0


def test_rank_loss_is_a_hinge_on_log_q_that_only_pushes_damaged_copies() -> None:
    q_clean = torch.tensor([50.0, 50.0, 50.0], requires_grad=True)
    q_damaged = torch.tensor([20.0, 50.0, 80.0], requires_grad=True)
    usable = torch.tensor([True, True, False])
    loss = rank_loss(q_clean, q_damaged, usable, margin=0.1)
    assert float(loss.detach()) == pytest.approx(0.1 / 2)  # only the tied pair violates; the third is not usable
    loss.backward()
    assert q_clean.grad is None or not q_clean.grad.any()
    assert q_damaged.grad.tolist()[0] == 0.0 and q_damaged.grad.tolist()[1] > 0 and q_damaged.grad.tolist()[2] == 0


def ink(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points[:, 0:2], axis=0), axis=1).sum())


def strokes_kept(kind: str, clean: np.ndarray, n_strokes: int, k: int) -> list[int]:
    """Which k strokes the damage should keep: prefix the first k, detail the k with the most ink (measured on
    the clean model input's own points)."""
    if kind == "prefix":
        return list(range(k))
    ends = np.flatnonzero((clean[:, 5] > 0.5) | (clean[:, 6] > 0.5))
    inks = [ink(s) for s in np.split(clean, ends[:-1] + 1)]
    kept = sorted(sorted(range(n_strokes), key=lambda j: -inks[j])[:k])
    assert min(inks[j] for j in kept) >= max(inks[j] for j in range(n_strokes) if j not in kept)
    return kept


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("kind", "damage"), [("prefix", prefix_batch), ("detail", detail_batch)])
def test_prefix_and_detail_keep_their_strokes_in_order(kind: str, damage, seed: int) -> None:
    x, lengths = batch(SKETCHES)
    out, new_lengths, damaged = damage(x, lengths, PRE.offset_scale, (0.3, 0.8), torch.Generator().manual_seed(seed))
    assert damaged.tolist() == [True, False, True, True]
    for i, sk in enumerate(SKETCHES):
        n = int(new_lengths[i])
        if not damaged[i]:
            torch.testing.assert_close(out[i], x[i], atol=1e-5, rtol=0)
            continue
        k = len(stroke_lengths(out[i].numpy(), n))
        assert 1 <= k < len(sk)
        assert k <= max(1, int(0.8 * len(sk))), "never more than the upper fraction of the strokes"
        kept = strokes_kept(kind, x[i, : int(lengths[i])].numpy(), len(sk), k)
        np.testing.assert_allclose(out[i, :n].numpy(), sketch_to_points([sk[j] for j in kept], PRE), atol=1e-5)
        assert not out[i, n:].any()


def test_rank_loss_with_a_class_reference_uses_the_lower_level() -> None:
    q_clean = torch.tensor([10.0, 10.0])
    q_damaged = torch.tensor([8.0, 8.0], requires_grad=True)
    usable = torch.tensor([True, True])
    own = rank_loss(q_clean, q_damaged, usable, 0.0)
    assert float(own) == 0.0, "already below its own original"
    ref = torch.log(torch.tensor([5.0, 20.0]))  # class level below the original for the first only
    loss = rank_loss(q_clean, q_damaged, usable, 0.0, ref)
    assert float(loss) == pytest.approx(float(np.log(8.0) - np.log(5.0)) / 2)
    loss.backward()
    assert q_damaged.grad[0] > 0 and q_damaged.grad[1] == 0


def test_class_reference_tracks_a_running_mean_of_log_q_per_class() -> None:
    ref = ClassReference(3, momentum=0.5)
    assert torch.isinf(ref(torch.tensor([0, 1]))).all(), "unseen classes add no constraint"
    ref.update(torch.tensor([np.e, np.e ** 3, 1.0]), torch.tensor([0, 0, 2]))
    torch.testing.assert_close(ref(torch.tensor([0, 2])), torch.tensor([2.0, 0.0]))
    assert torch.isinf(ref(torch.tensor([1])))[0]
    ref.update(torch.tensor([np.e ** 4]), torch.tensor([0]))
    torch.testing.assert_close(ref(torch.tensor([0])), torch.tensor([3.0]))  # 0.5 * 2 + 0.5 * 4


def test_scrawl_adds_shaken_foreign_strokes() -> None:
    """scrawl: the own strokes kept in order, 1-3 foreign strokes added, each resampled to at least SHAKE_POINTS
    points that wobble around the donor stroke's line (never exactly on it)."""
    rng = np.random.default_rng(5)
    own = points_to_strokes(sketch_to_points(SKETCHES[3], PRE))
    line = np.array([[0.0, 0.0], [1.0, 0.0]])  # a straight donor stroke: any wobble is off the x axis
    out = add_foreign_strokes(own, [[line]], rng, shake=True)
    added = [r for r in out if not any(r is s for s in own)]
    assert 1 <= len(added) <= 3 and len(out) == len(own) + len(added)
    for stroke in added:
        assert len(stroke) >= SHAKE_POINTS
        side = float(np.ptp(stroke[:, 0]))
        wobble = np.abs(stroke[:, 1] - np.median(stroke[:, 1]))
        assert 0.0 < wobble.mean() < side  # off the line, yet the line's shape
    straight = shaken(np.array([[0.5, 0.5], [0.5, 0.5]]), rng)  # zero length: noise only, no division
    assert np.isfinite(straight).all()
    x, lengths = batch(SKETCHES)
    donors, donor_lengths = batch(SKETCHES[::-1])
    out, new_lengths, usable = degrade_batch(x, lengths, donors, donor_lengths, PRE, ("scrawl",), (0, 0), (0, 0),
                                             np.random.default_rng(0))
    assert (new_lengths > lengths).all() and usable.all() and torch.isfinite(out).all()


def test_wobble_redraws_the_own_strokes_with_a_waver() -> None:
    """wobble: as many strokes as before, each near its old line (the drift is a few hundredths of the frame),
    and a straight line comes back wavering: points off the line, more of them than its two."""
    rng = np.random.default_rng(3)
    line = np.array([[0.0, 0.5], [1.0, 0.5]])
    dot = np.array([[0.2, 0.2]])
    for _ in range(20):
        out = wobbled([line, dot], rng)
        assert len(out) == 2 and len(out[1]) == 1
        wavy = out[0]
        assert len(wavy) > 2 and np.isfinite(wavy).all()
        off = np.abs(wavy[:, 1] - 0.5)
        assert off.max() > WOBBLE_RDP  # wavers beyond the data's own simplification tolerance
        assert off.max() < 5 * WOBBLE_SIGMA[1]  # yet stays the same line (0.15 of the frame)
        assert wavy[0, 0] < 0.2 and wavy[-1, 0] > 0.8  # from one end to the other
    x, lengths = batch(SKETCHES)
    out, new_lengths, usable = degrade_batch(x, lengths, x, lengths, PRE, ("wobble",), (0, 0), (0, 0),
                                             np.random.default_rng(0))
    assert usable.all() and torch.isfinite(out).all()
    for k in range(len(SKETCHES)):  # the same number of strokes, each still one stroke
        assert len(points_to_strokes(out[k, : int(new_lengths[k])].numpy())) == \
            len(points_to_strokes(x[k, : int(lengths[k])].numpy()))
