"""Class-conditional Sketch-RNN VAE (Ha and Eck 2018): BiLSTM encoder -> z -> LSTM decoder -> GMM + pen.

    encoder: stroke-5 (B, T, 5) -> forward and backward LSTM final states (B, 2 H_enc) -> mu, logvar (B, Z)
    decoder: (h_0, c_0) = split(tanh(W z + b));  input_t = [row_{t-1} (S0 first), z, class embedding]
             output_t -> M Gaussians (pi, mu_x, mu_y, sigma_x, sigma_y, rho) over (dx, dy) + 3 pen logits

The model reads and writes offsets in data units (pixels of the 0..255 frame) and divides them by the
stored `offset_std` (the training set's standard deviation) inside, so its users never see the normalised
frame; the mixture parameters it returns are in the normalised frame.

The encoder is padding invariant like the scorer's BiLSTMEncoder: the backward LSTM runs on each sequence
reversed within its own length (no pack_padded_sequence), so it exports to ONNX with dynamic length.
The decoder is trained with nn.LSTM over the whole sequence; sampling, the latent search and the ONNX
decoder step the same weights one row at a time (`step`), with the z and class part of the input gates
computed once per sequence (`step_constant`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn

from training.model.encoders import reverse_within_length

MIN_LOG_SIGMA = -5.0  # sigma >= 0.0067 normalised units (~0.2 px): the NLL stays bounded on exact zeros


@dataclass
class SketchRNNConfig:
    num_classes: int = 22
    enc_hidden: int = 128
    dec_hidden: int = 256
    z_dim: int = 64
    num_mixtures: int = 10
    class_dim: int = 16  # class embedding fed to the decoder at every step; 0: no class conditioning
    max_seq_len: int = 127  # stroke-5 rows (= points - 1); longer sketches are dropped from the data
    recurrent_dropout: float = 0.0  # on the LSTM cell input (Semeniuta et al., as Sketch-RNN); slow path

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, dict] = {
    # trains on a 2-core CPU (the shipped VAE: models/README.md)
    "cpu": dict(enc_hidden=128, dec_hidden=256, z_dim=64, num_mixtures=10, class_dim=16),
    # Ha and Eck's configuration (their decoder is a layer-normalised HyperLSTM; here a plain LSTM): a GPU
    "paper": dict(enc_hidden=256, dec_hidden=512, z_dim=128, num_mixtures=20, class_dim=32, recurrent_dropout=0.1),
    # for tests
    "tiny": dict(enc_hidden=16, dec_hidden=32, z_dim=8, num_mixtures=3, class_dim=4),
}


class Mixture(NamedTuple):
    """Decoder outputs of one or more steps, in the normalised offset frame; shapes (..., M) or (..., 3)."""

    logit_pi: torch.Tensor  # (..., M) mixture weight logits
    mu_x: torch.Tensor  # (..., M)
    mu_y: torch.Tensor  # (..., M)
    log_sx: torch.Tensor  # (..., M) log sigma_x, >= MIN_LOG_SIGMA
    log_sy: torch.Tensor  # (..., M)
    rho: torch.Tensor  # (..., M) correlation in (-1, 1)
    pen_logits: torch.Tensor  # (..., 3) pen down / pen up / end of sketch


class SketchRNN(nn.Module):
    def __init__(self, cfg: SketchRNNConfig, offset_std: float = 1.0):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("offset_std", torch.tensor(float(offset_std)))
        self.register_buffer("s0", torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0]), persistent=False)  # start token
        self.register_buffer("eos", torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0]), persistent=False)  # end row
        self.enc_fwd = nn.LSTM(5, cfg.enc_hidden, batch_first=True)
        self.enc_bwd = nn.LSTM(5, cfg.enc_hidden, batch_first=True)
        self.fc_mu = nn.Linear(2 * cfg.enc_hidden, cfg.z_dim)
        self.fc_logvar = nn.Linear(2 * cfg.enc_hidden, cfg.z_dim)
        self.class_emb = nn.Embedding(cfg.num_classes, cfg.class_dim) if cfg.class_dim > 0 else None
        self.fc_init = nn.Linear(cfg.z_dim, 2 * cfg.dec_hidden)
        self.dec = nn.LSTM(5 + cfg.z_dim + cfg.class_dim, cfg.dec_hidden, batch_first=True)
        self.fc_out = nn.Linear(cfg.dec_hidden, 6 * cfg.num_mixtures + 3)

    def rows_like(self, row: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """`row` (5,) repeated for every row of `like` (B, K) -> (B, 5); shaped from `like` (ONNX friendly)."""
        return torch.zeros_like(like[:, :1]) + row  # (B, 1) + (5,) -> (B, 5)

    # ---- frames -------------------------------------------------------------------------------------------
    def normalise(self, rows: torch.Tensor) -> torch.Tensor:
        """Rows (..., 5) in pixels -> offsets divided by offset_std, pen unchanged."""
        return torch.cat([rows[..., 0:2] / self.offset_std, rows[..., 2:5]], dim=-1)

    # ---- encoder ------------------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, 5) pixel rows (no S0), lengths (B,) >= 1 -> mu (B, Z), logvar (B, Z)."""
        h = self.normalise(x)  # (B, T, 5)
        out_f, _ = self.enc_fwd(h)  # (B, T, H)
        out_b, _ = self.enc_bwd(reverse_within_length(h, lengths))  # (B, T, H), reversed time
        last = (lengths - 1)[:, None, None].expand(-1, 1, self.cfg.enc_hidden)  # (B, 1, H)
        h_f = torch.gather(out_f, 1, last)[:, 0]  # (B, H) after the last row
        h_b = torch.gather(out_b, 1, last)[:, 0]  # (B, H) after the first row, read backwards
        feats = torch.cat([h_f, h_b], dim=1)  # (B, 2H)
        return self.fc_mu(feats), self.fc_logvar(feats)

    @staticmethod
    def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None):
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + torch.exp(0.5 * logvar) * eps  # (B, Z)

    # ---- decoder ------------------------------------------------------------------------------------------
    def conditioning(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """z (B, Z), labels (B,) -> the per-step extra input [z, class embedding] (B, Z + E)."""
        if self.class_emb is None:
            return z
        return torch.cat([z, self.class_emb(labels)], dim=1)

    def initial_state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h0, c0 = torch.tanh(self.fc_init(z)).chunk(2, dim=1)  # (B, H) each
        return h0, c0

    def mixture(self, out: torch.Tensor) -> Mixture:
        """Decoder output (..., 6M + 3) -> Mixture."""
        m = self.cfg.num_mixtures
        logit_pi, mu_x, mu_y, log_sx, log_sy, raw_rho = out[..., : 6 * m].split(m, dim=-1)
        return Mixture(logit_pi, mu_x, mu_y, log_sx.clamp_min(MIN_LOG_SIGMA), log_sy.clamp_min(MIN_LOG_SIGMA),
                       torch.tanh(raw_rho), out[..., 6 * m :])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[Mixture, torch.Tensor, torch.Tensor]:
        """Teacher forcing. x (B, T, 5) pixel rows padded with end rows -> (Mixture (B, T, .), mu, logvar)."""
        mu, logvar = self.encode(x, lengths)
        z = self.reparameterise(mu, logvar, generator)  # (B, Z)
        xn = self.normalise(x)  # (B, T, 5)
        s0 = self.rows_like(self.s0, xn[:, 0])[:, None]  # (B, 1, 5)
        prev = torch.cat([s0, xn[:, :-1]], dim=1)  # (B, T, 5): S0, rows 0 .. T-2
        cond = self.conditioning(z, labels)  # (B, Z + E)
        h0, c0 = self.initial_state(z)
        if self.training and self.cfg.recurrent_dropout > 0:
            out = self._unroll_with_dropout(prev, cond, (h0, c0), generator)  # (B, T, H)
        else:
            inp = torch.cat([prev, cond[:, None].expand(-1, prev.shape[1], -1)], dim=2)  # (B, T, 5 + Z + E)
            out, _ = self.dec(inp, (h0[None], c0[None]))  # (B, T, H)
        return self.mixture(self.fc_out(out)), mu, logvar

    def step_constant(self, cond: torch.Tensor) -> torch.Tensor:
        """The part of the decoder's gate pre-activations that does not change over time: (B, 4H)."""
        w = self.dec.weight_ih_l0[:, 5:]  # (4H, Z + E)
        return cond @ w.T + self.dec.bias_ih_l0 + self.dec.bias_hh_l0

    def step(self, row: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
             const: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One decoder step: previous row (B, 5) normalised, (h, c) (B, H) -> output (B, 6M + 3), new state."""
        h, c = self.cell(row, state, const)
        return self.fc_out(h), (h, c)

    def cell(self, row: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], const: torch.Tensor,
             g_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder LSTM cell, the same arithmetic as nn.LSTM (gate order i, f, g, o) -> (h, c) (B, H).

        g_mask: recurrent dropout mask on the cell input g (training only).
        """
        h, c = state
        gates = const + row @ self.dec.weight_ih_l0[:, :5].T + h @ self.dec.weight_hh_l0.T  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        g = torch.tanh(g)
        if g_mask is not None:
            g = g * g_mask
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * g
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def _unroll_with_dropout(self, prev: torch.Tensor, cond: torch.Tensor, state, generator) -> torch.Tensor:
        """Python-loop decoder with recurrent dropout on the cell input g; -> hidden states (B, T, H)."""
        keep = 1.0 - self.cfg.recurrent_dropout
        const = self.step_constant(cond)
        outs = []
        h, c = state
        for t in range(prev.shape[1]):
            mask = torch.bernoulli(torch.full_like(h, keep), generator=generator) / keep
            h, c = self.cell(prev[:, t], (h, c), const, mask)
            outs.append(h)
        return torch.stack(outs, dim=1)


def build_model(preset: str, num_classes: int, max_seq_len: int, offset_std: float, **overrides) -> SketchRNN:
    cfg = SketchRNNConfig(num_classes=num_classes, max_seq_len=max_seq_len, **{**PRESETS[preset], **overrides})
    return SketchRNN(cfg, offset_std)


def load_model(checkpoint: str, map_location: str = "cpu") -> tuple[SketchRNN, dict]:
    """A checkpoint written by training.sketchrnn.train -> (model in eval mode, checkpoint dict)."""
    ck = torch.load(checkpoint, map_location=map_location, weights_only=False)
    model = SketchRNN(SketchRNNConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

