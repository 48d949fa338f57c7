import math

import pytest
import torch

from training.losses.gacl import GACL_KINDS, GACLConfig, gacl_loss, margin, soft_bin, soft_bin_probs


def test_lambda_g_lower_bound_matches_the_formula_and_is_enforced():
    # s k u_a^2 l_a^2 / (u_a^2 - l_a^2), k = (u_m - l_m) / (u_a - l_a), reference constants
    k = (0.8 - 0.35) / (110 - 10)
    expected = 64 * k * 110**2 * 10**2 / (110**2 - 10**2)
    assert GACLConfig().lambda_g_lower_bound() == pytest.approx(expected)
    assert 29.0 < expected < 29.1
    GACLConfig(lambda_g=expected + 0.01)
    with pytest.raises(ValueError, match="lower bound"):
        GACLConfig(lambda_g=expected - 0.01)


def test_margin_maps_the_quality_range_linearly_and_clamps():
    cfg = GACLConfig()
    q = torch.tensor([0.0, 10.0, 60.0, 110.0, 500.0])
    assert margin(q, cfg).tolist() == pytest.approx([0.35, 0.35, 0.575, 0.8, 0.8])


@pytest.mark.parametrize("n_cuts", [5, 12, 20])
def test_soft_binning_is_near_one_hot_in_the_middle_of_a_bin(n_cuts):
    lo, hi = 10.0, 110.0
    cuts = torch.linspace(lo, hi, n_cuts)
    mids = (cuts[:-1] + cuts[1:]) / 2  # middle of bins 1..n-1
    probs = soft_bin_probs(mids, lo, hi, n_cuts)  # (n-1, n+1)
    for i in range(len(mids)):
        assert probs[i, i + 1] >= 0.9
    # the binned value is the bin's lower cut point
    assert soft_bin(mids, lo, hi, n_cuts).tolist() == pytest.approx(cuts[:-1].tolist(), abs=0.5)
    # below the first cut: the first cut; above the last: the last
    assert soft_bin(torch.tensor([2.0, 200.0]), lo, hi, n_cuts).tolist() == pytest.approx([lo, hi], abs=1e-3)


def test_soft_binning_is_differentiable_and_flat_inside_a_bin():
    # identity would have gradient 1; inside a bin the binned value hardly moves, at a cut it jumps
    q = torch.tensor([35.0, 60.0], requires_grad=True)  # middle of [10, 60] and the cut at 60 (3 cuts)
    soft_bin(q, 10.0, 110.0, 3).sum().backward()
    assert abs(float(q.grad[0])) < 0.1
    assert float(q.grad[1]) > 1.0


@pytest.mark.parametrize("kind", GACL_KINDS)
def test_target_logit_falls_as_q_rises_and_gradients_stay_finite(kind):
    cfg = GACLConfig(kind=kind)
    y = torch.tensor([0, 0, 1])
    cos = torch.tensor([[1.0, -1.0], [0.3, 0.1], [-1.0, 1.0]], requires_grad=True)  # includes cos = +-1
    f = torch.tensor([[30.0, 0.0], [0.0, 60.0], [90.0, 5.0]], requires_grad=True)
    loss, stats = gacl_loss(f, cos, y, cfg)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(cos.grad).all() and torch.isfinite(f.grad).all()
    assert math.isfinite(stats["reg"])
    # geometry: a larger margin (larger q) makes the true-class logit smaller -> higher CE at fixed theta
    _, at_20 = gacl_loss(torch.tensor([[20.0, 0.0]]), torch.tensor([[0.5, 0.2]]), torch.tensor([0]), cfg)
    _, at_100 = gacl_loss(torch.tensor([[100.0, 0.0]]), torch.tensor([[0.5, 0.2]]), torch.tensor([0]), cfg)
    assert at_100["ce"] > at_20["ce"]


def test_the_loss_is_smallest_at_q_equal_u_a_when_the_sketch_sits_on_its_centre():
    """With cos_y = 1 and every other cosine -1 the CE term vanishes, so gacl_loss over q is the regulariser
    lambda_g (q / u_a^2 + 1 / q): minimal at u_a, where it is 2 lambda_g / u_a; ramp 0 leaves only the CE."""
    cfg = GACLConfig()
    qs = torch.linspace(5, 200, 391)  # steps of 0.5
    cos = torch.tensor([[1.0, -1.0, -1.0]])
    losses = [float(gacl_loss(torch.tensor([[float(q), 0.0]]), cos, torch.tensor([0]), cfg)[0]) for q in qs]
    best = int(torch.tensor(losses).argmin())
    assert float(qs[best]) == pytest.approx(cfg.u_a, abs=0.5)
    assert losses[best] == pytest.approx(2 * cfg.lambda_g / cfg.u_a, rel=1e-4)
    assert losses[0] > losses[best] and losses[-1] > losses[best]
    ce_only, stats = gacl_loss(torch.tensor([[30.0, 0.0]]), torch.tensor([[0.5, 0.2, 0.1]]), torch.tensor([0]), cfg,
                               ramp=0.0)
    assert float(ce_only) == pytest.approx(stats["ce"]) and stats["reg"] > 0


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        GACLConfig(kind="arc")
