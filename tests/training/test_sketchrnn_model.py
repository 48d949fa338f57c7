"""Sketch-RNN VAE: the GMM likelihood, schedules, encoder padding invariance, the step-wise decoder equals the
trained nn.LSTM, a few training steps lower the loss, exact resume, valid samples, the CLI end to end."""

import json

import numpy as np
import pytest
import torch

from sketchprep.stroke5 import pad_batch, stroke5_length
from training.cli import main as cli_main
from training.sketchrnn.loss import LossConfig, gmm_log_likelihood, kl_weight, learning_rate
from training.sketchrnn.model import Mixture, build_model, load_model
from training.sketchrnn.sample import decode_z, sample_prior, sketch_is_valid
from training.sketchrnn.train import TrainConfig, train

CLASSES = ["circle", "cross", "zigzag"]  # the synthetic_folder fixture's classes


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_config(folder, out, **kw) -> TrainConfig:
    base = dict(data=[str(folder)], categories=CLASSES, out_dir=str(out), preset="tiny", max_seq_len=40,
                batch_size=32, pad_to="batch", loss=LossConfig(lr=3e-3), log_every=1, eval_every=10,
                eval_sketches=64, checkpoint_every=10, threads=1)
    base.update(kw)
    return TrainConfig(**base)


def random_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = np.zeros((n, 5), np.float32)
    rows[:, 0:2] = rng.normal(0, 20, (n, 2))
    up = rng.random(n) < 0.2
    up[-1] = True
    rows[:, 3] = up
    rows[:, 2] = ~up
    return rows


def test_gmm_log_likelihood_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    b, m = 7, 4
    mix = Mixture(torch.randn(b, m, generator=g), torch.randn(b, m, generator=g), torch.randn(b, m, generator=g),
                  torch.randn(b, m, generator=g) * 0.5, torch.randn(b, m, generator=g) * 0.5,
                  torch.tanh(torch.randn(b, m, generator=g)), torch.randn(b, 3, generator=g))
    dx, dy = torch.randn(b, generator=g), torch.randn(b, generator=g)
    sx, sy = mix.log_sx.exp(), mix.log_sy.exp()
    cov = torch.stack([torch.stack([sx**2, mix.rho * sx * sy], -1), torch.stack([mix.rho * sx * sy, sy**2], -1)], -2)
    ref = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=mix.logit_pi),
        torch.distributions.MultivariateNormal(torch.stack([mix.mu_x, mix.mu_y], -1), covariance_matrix=cov))
    expected = ref.log_prob(torch.stack([dx, dy], -1))
    torch.testing.assert_close(gmm_log_likelihood(mix, dx, dy), expected, rtol=1e-4, atol=1e-4)


def test_schedules_follow_sketch_rnn():
    cfg = LossConfig()
    assert kl_weight(cfg, 0) == pytest.approx(0.01)
    assert kl_weight(cfg, 10_000) == pytest.approx(0.5 - 0.49 * 0.99995**10_000)
    assert kl_weight(cfg, 10**7) == pytest.approx(0.5)
    assert learning_rate(cfg, 0) == pytest.approx(1e-3)
    assert learning_rate(cfg, 10**6) == pytest.approx(1e-5)


def test_encoder_is_padding_invariant():
    torch.manual_seed(0)
    model = build_model("tiny", 3, 40, 20.0).eval()
    rng = np.random.default_rng(0)
    seqs = [random_rows(rng, n) for n in (5, 17, 9)]
    x, lens = pad_batch(seqs, 17)
    x_long, _ = pad_batch(seqs, 40)
    x_long[:, 20:, 0:2] = 99.0  # garbage after the end must not matter
    with torch.no_grad():
        mu, logvar = model.encode(torch.from_numpy(x), torch.from_numpy(lens))
        mu2, logvar2 = model.encode(torch.from_numpy(x_long), torch.from_numpy(lens))
        mu1, _ = model.encode(torch.from_numpy(x[1:2]), torch.from_numpy(lens[1:2]))
    torch.testing.assert_close(mu, mu2, atol=1e-6, rtol=0)
    torch.testing.assert_close(logvar, logvar2, atol=1e-6, rtol=0)
    torch.testing.assert_close(mu[1:2], mu1, atol=1e-6, rtol=0)


@pytest.mark.parametrize("path", ["nn.LSTM", "dropout loop"])
def test_step_decoder_equals_the_trained_lstm(path):
    """Sampling, the latent search and ONNX use `step`; training uses nn.LSTM or, with recurrent dropout, a
    Python loop (here with a dropout so small that its masks are all ones)."""
    torch.manual_seed(0)
    model = build_model("tiny", 3, 40, 20.0, recurrent_dropout=1e-12 if path == "dropout loop" else 0.0)
    model.train(path == "dropout loop")
    x, lens = pad_batch([random_rows(np.random.default_rng(1), n) for n in (6, 11)], 12)
    x, lens, y = torch.from_numpy(x), torch.from_numpy(lens), torch.tensor([0, 2])
    with torch.no_grad():
        mix, mu, logvar = model(x, lens, y, torch.Generator().manual_seed(3))
        z = model.reparameterise(mu, logvar, torch.Generator().manual_seed(3))
        const = model.step_constant(model.conditioning(z, y))
        state = model.initial_state(z)
        prev = model.rows_like(model.s0, z)
        xn = model.normalise(x)
        for t in range(x.shape[1]):
            out, state = model.step(prev, state, const)
            torch.testing.assert_close(model.mixture(out).pen_logits, mix.pen_logits[:, t], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(model.mixture(out).mu_x, mix.mu_x[:, t], atol=1e-5, rtol=1e-5)
            prev = xn[:, t]


def step_losses(out) -> list[float]:
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [x["loss"] for x in lines if x["kind"] == "step"]


def test_a_few_training_steps_lower_the_loss_and_checkpoint(synthetic_folder, tmp_path):
    summary = train(tiny_config(synthetic_folder, tmp_path / "run", max_steps=40))
    losses = step_losses(tmp_path / "run")
    assert len(losses) == 40 and all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3
    assert summary["stopped"] == "max_steps" and summary["step"] == 40
    assert (tmp_path / "run" / "last.pt").exists() and (tmp_path / "run" / "best.pt").exists()
    model, ck = load_model(str(tmp_path / "run" / "last.pt"))
    assert ck["step"] == 40 and ck["classes"] == CLASSES and float(model.offset_std) == ck["offset_std"] > 1.0


def test_resume_gives_exactly_the_uninterrupted_run(synthetic_folder, tmp_path):
    train(tiny_config(synthetic_folder, tmp_path / "a", max_steps=12))
    with pytest.raises(FileExistsError):
        train(tiny_config(synthetic_folder, tmp_path / "a", max_steps=12))
    train(tiny_config(synthetic_folder, tmp_path / "b", max_steps=7, checkpoint_every=7))
    train(tiny_config(synthetic_folder, tmp_path / "b", max_steps=12, resume=True))
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0)
    assert step_losses(tmp_path / "a") == step_losses(tmp_path / "b")


def test_samples_are_finite_with_valid_pen_states():
    torch.manual_seed(0)
    model = build_model("tiny", 3, 30, 20.0).eval()
    model.fc_out.bias.data[-3:] = torch.tensor([1.0, 0.5, -1.0])  # some lines, some lifts, some ends
    labels = torch.arange(3).repeat(4)
    for temperature in (0.0, 0.3, 1.0):
        dec = decode_z(model, torch.randn(12, model.cfg.z_dim), labels, temperature, steps=30, seed=1)
        rows = dec.rows.numpy()
        assert np.isfinite(rows).all()
        assert np.all(np.isin(rows[..., 2:5], [0.0, 1.0])) and np.all(rows[..., 2:5].sum(-1) == 1)
        for r, n in zip(rows, dec.lengths.numpy(), strict=True):
            assert stroke5_length(r) == n
            assert np.all(r[n:] == np.array([0, 0, 0, 0, 1]))
    sketches = sample_prior(model, labels, temperature=0.5, seed=2, steps=30)
    assert len(sketches) == 12 and all(sketch_is_valid(s) for s in sketches)
    assert len({round(float(np.concatenate(s).sum()), 3) for s in sketches}) > 6  # not all the same


def test_cli_train_sample_export(synthetic_folder, tmp_path):
    out = tmp_path / "cli"
    args = ["sketchrnn-train", "--data", str(synthetic_folder), "--categories", *CLASSES, "--out", str(out),
            "--preset", "tiny", "--max-seq-len", "40", "--batch-size", "32", "--pad-to", "batch",
            "--log-every", "1", "--threads", "1"]
    assert cli_main([*args, "--max-steps", "3"]) == 0
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 3
    assert cli_main([*args, "--max-steps", "6", "--resume"]) == 0
    assert torch.load(out / "last.pt", weights_only=False)["step"] == 6
    assert cli_main(["sketchrnn-sample", str(out / "last.pt"), "--out", str(tmp_path / "grid.png"),
                     "--per-class", "2", "--curves", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 1000 and (tmp_path / "curves.png").stat().st_size > 1000
    assert cli_main(["sketchrnn-export", str(out / "last.pt"), "--out", str(tmp_path / "onnx"), "--steps", "6"]) == 0
    card = json.loads((tmp_path / "onnx" / "sketchrnn_card.json").read_text())
    assert card["classes"] == CLASSES and card["decode_steps"] == 6 and card["checkpoint_step"] == 6
