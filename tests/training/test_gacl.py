import math

import pytest
import torch

from training.gacl import GACL_KINDS, GACLConfig, gacl_loss, margin, soft_bin, soft_bin_probs


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
    lo, _ = gacl_loss(torch.tensor([[20.0, 0.0]]), torch.tensor([[0.5, 0.2]]), torch.tensor([0]), cfg)
    hi, _ = gacl_loss(torch.tensor([[100.0, 0.0]]), torch.tensor([[0.5, 0.2]]), torch.tensor([0]), cfg)
    ce_lo = lo - cfg.lambda_g * (20 / cfg.u_a**2 + 1 / 20)
    ce_hi = hi - cfg.lambda_g * (100 / cfg.u_a**2 + 1 / 100)
    assert ce_hi > ce_lo


def test_regulariser_optimum_lies_inside_the_quality_range():
    # with p_y ~ 1 the CE term vanishes; q / u_a^2 + 1 / q is minimal at q = u_a
    cfg = GACLConfig()
    qs = torch.linspace(5, 200, 400)
    reg = qs / cfg.u_a**2 + 1 / qs
    assert float(qs[reg.argmin()]) == pytest.approx(cfg.u_a, abs=1.0)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        GACLConfig(kind="arc")
