"""The Sketch-RNN VAE of POST /enhance on ONNX Runtime (no torch): the export of `training.sketchrnn.export`.

The folder holds encoder.onnx, decoder.onnx and sketchrnn_card.json. Sketches go in and come out in the
Quick, Draw! pixel frame the VAE was trained in (top-left at the origin, longest side 255, at most
`max_seq_len + 1` points, RDP-simplified like the scorer's preprocessing); stroke-5 conventions are
`sketchprep.stroke5`'s, shared with the training package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from service.core.errors import ModelLoadError
from sketchprep.files import sha256_file
from sketchprep.preprocess import fit_length, normalise
from sketchprep.stroke5 import encoder_rows, pad_batch, stroke5_to_strokes
from sketchprep.strokes import Sketch

CARD_FILE = "sketchrnn_card.json"
FRAME = 255.0  # pixels: the Quick, Draw! simplified frame
RDP_START = 0.002  # first RDP tolerance (normalised frame) when an input has too many points


@dataclass
class VaeModel:
    dir: Path
    classes: list[str]
    z_dim: int
    num_mixtures: int
    decode_steps: int
    max_seq_len: int
    encoder: ort.InferenceSession
    decoder: ort.InferenceSession

    @classmethod
    def load(cls, model_dir: Path, threads: int = 1) -> VaeModel:
        d = Path(model_dir)
        try:
            card = json.loads((d / CARD_FILE).read_text())
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            sessions = []
            for part in ("encoder", "decoder"):
                path = d / card[part]["file"]
                expected = card[part].get("sha256")
                if expected and sha256_file(path) != expected:
                    raise ModelLoadError(f"{path} does not match the sha256 in {CARD_FILE}")
                sessions.append(ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]))
            cfg = card["model_config"]
            return cls(d, [str(c) for c in card["classes"]], int(cfg["z_dim"]), int(cfg["num_mixtures"]),
                       int(card["decode_steps"]), int(cfg["max_seq_len"]), sessions[0], sessions[1])
        except ModelLoadError:
            raise
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise ModelLoadError(f"bad Sketch-RNN folder {d}: {type(e).__name__}: {e}") from e
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"ONNX Runtime could not load the Sketch-RNN in {d}: {e}") from e

    def to_frame(self, strokes: Sketch) -> Sketch:
        """Any coordinates -> the VAE's pixel frame, simplified to at most max_seq_len + 1 points."""
        return to_vae_frame(strokes, self.max_seq_len)

    def encode(self, strokes: Sketch) -> np.ndarray:
        """One sketch in the VAE's frame -> z0 = the encoder's mean, (Z,) float32."""
        rows = encoder_rows(strokes, self.max_seq_len)
        x, lengths = pad_batch([rows], len(rows))
        (mu,) = self.encoder.run(None, {"strokes5": x.astype(np.float32), "lengths": lengths})
        return mu[0].astype(np.float32)

    def decode_greedy(self, z: np.ndarray, class_index: int) -> list[Sketch]:
        """(B, Z) latents -> B sketches (temperature 0: the decode needs no noise), in the VAE's frame."""
        b = len(z)
        t = self.decode_steps
        feeds = {"z": np.ascontiguousarray(z, dtype=np.float32),
                 "class_index": np.full((b,), class_index, dtype=np.int64),
                 "temperature": np.zeros((b,), dtype=np.float32),
                 "gumbel_pi": np.zeros((b, t, self.num_mixtures), dtype=np.float32),
                 "gumbel_pen": np.zeros((b, t, 3), dtype=np.float32),
                 "normal_xy": np.zeros((b, t, 2), dtype=np.float32)}
        rows, lengths = self.decoder.run(None, feeds)
        return [stroke5_to_strokes(r, int(n)) for r, n in zip(rows, lengths, strict=True)]


def to_vae_frame(strokes: Sketch, max_seq_len: int) -> Sketch:
    """Any coordinates -> a Sketch-RNN's pixel frame (top-left at 0, longest side 255), RDP-simplified to at
    most max_seq_len + 1 points: the input of the service's encoder and of the torch reference alike."""
    return [s * FRAME for s in fit_length(normalise(strokes), max_seq_len + 1, RDP_START)]


def chamfer(a: Sketch, b: Sketch) -> float:
    """Symmetric Chamfer distance of two sketches' points, each normalised to the [0, 1] frame:
    mean nearest-neighbour distance from a to b plus from b to a, halved."""
    pa = np.concatenate(normalise(a), axis=0)
    pb = np.concatenate(normalise(b), axis=0)
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1))  # (Na, Nb)
    return float(0.5 * (d.min(axis=1).mean() + d.min(axis=0).mean()))
