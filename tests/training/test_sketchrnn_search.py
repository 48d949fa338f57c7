"""Eq. 20 / 21 in torch: the straight-through decode is the hard decode forward, gradients of q reach z, a few
latent steps raise q on a toy scorer, and the result never scores worse than the reconstruction."""

import numpy as np
import pytest
import torch

from sketchprep.preprocess import PreprocessConfig
from sketchprep.stroke5 import stroke5_to_strokes
from training.model.network import SketchQualityNet
from training.model.presets import ENCODER_PRESETS
from training.sketchrnn.decode import decode, make_noise
from training.sketchrnn.latent_search import QualityCritic, SearchConfig, latent_search
from training.sketchrnn.model import build_model

STEPS = 30


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    model = build_model("tiny", 3, STEPS, 20.0).eval()
    model.fc_out.bias.data[-3:] = torch.tensor([2.0, 0.0, -1.0])  # untrained, but drawing lines and lifts
    return model


@pytest.fixture(scope="module")
def critic():
    torch.manual_seed(1)
    spec = ENCODER_PRESETS["conv-compact"]
    return QualityCritic(SketchQualityNet(spec.kind, spec.config, 3), PreprocessConfig(max_points=STEPS + 1))


def test_straight_through_decode_is_the_hard_decode_forward(vae):
    z = torch.randn(5, vae.cfg.z_dim, generator=torch.Generator().manual_seed(2))
    labels = torch.tensor([0, 1, 2, 0, 1])
    noise = make_noise(5, STEPS, vae.cfg.num_mixtures, torch.Generator().manual_seed(3))
    temperature = torch.tensor([0.0, 0.0, 0.5, 1.0, 0.2])
    with torch.no_grad():
        hard = decode(vae, z, labels, temperature, noise)
    soft = decode(vae, z.clone().requires_grad_(True), labels, temperature, noise, straight_through_tau=0.5)
    torch.testing.assert_close(soft.rows.detach(), hard.rows, atol=1e-6, rtol=0)
    assert soft.lengths.equal(hard.lengths) and soft.rows.requires_grad


def test_gradients_of_q_with_respect_to_z_are_finite_and_nonzero(vae, critic):
    z = torch.randn(4, vae.cfg.z_dim, generator=torch.Generator().manual_seed(4)).requires_grad_(True)
    noise = make_noise(4, STEPS, vae.cfg.num_mixtures, torch.Generator().manual_seed(5))
    dec = decode(vae, z, torch.tensor([0, 1, 2, 0]), torch.zeros(4), noise, straight_through_tau=0.5)
    q = critic(dec.rows, dec.alive)
    assert q.shape == (4,) and torch.isfinite(q).all()
    (grad,) = torch.autograd.grad(q.sum(), z)
    assert torch.isfinite(grad).all()
    assert (grad.abs().sum(1) > 0).all()  # every sketch's q depends on its own z
    # q of the decoded sketch equals the scorer's numpy path on the same sketch
    sketches = [stroke5_to_strokes(r, int(n)) for r, n in zip(dec.rows.detach().numpy(), dec.lengths, strict=True)]
    np.testing.assert_allclose(q.detach().numpy(), critic.score_sketches(sketches), rtol=1e-4)


def test_a_few_latent_steps_raise_q_on_a_toy_scorer(vae, critic):
    z0 = torch.randn(6, vae.cfg.z_dim, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    res = latent_search(vae, critic, z0, labels, SearchConfig(steps=5, lr=0.1, alpha=0.1, optimizer="sgd"))
    assert res.q_trajectory.shape == (6, 6) and torch.isfinite(res.q_trajectory).all()
    assert (res.q_trajectory[-1] > res.q_trajectory[0]).float().mean() >= 0.5
    assert (res.q > res.q0).float().mean() >= 0.8
    assert (res.q >= res.q0).all()  # the chosen iterate is never worse than D(z0) ...
    assert (res.loss_trajectory.min(0).values <= res.loss_trajectory[0]).all()  # ... in the objective
    torch.testing.assert_close(res.distance, ((res.z - res.z0) ** 2).sum(1))
    assert res.rows.shape == (6, STEPS, 5)


def test_alpha_keeps_z_near_z0(vae, critic):
    z0 = torch.randn(4, vae.cfg.z_dim, generator=torch.Generator().manual_seed(6))
    labels = torch.tensor([0, 1, 2, 0])
    free = latent_search(vae, critic, z0, labels, SearchConfig(steps=4, lr=0.5, alpha=0.0, optimizer="adam"))
    tied = latent_search(vae, critic, z0, labels, SearchConfig(steps=4, lr=0.5, alpha=100.0, optimizer="adam"))
    assert tied.distance.mean() < free.distance.mean()
