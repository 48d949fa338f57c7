"""ONNX export of the Sketch-RNN encoder and unrolled decoder: parity with torch at batch 1 and 8, dynamic
length and padding invariance of the encoder, a decode that is a pure function of its inputs."""

import json

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime")

from sketchprep.stroke5 import make_noise_numpy  # noqa: E402
from training.sketchrnn.export import (  # noqa: E402
    DECODER_INPUTS,
    DecoderExport,
    EncoderExport,
    example_inputs,
    export_model,
)
from training.sketchrnn.model import build_model  # noqa: E402

STEPS = 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("tiny", 4, 40, 25.0).eval()
    model.fc_out.bias.data[-3:] = torch.tensor([1.0, 0.3, 0.5])  # sketches of varied lengths
    out = tmp_path_factory.mktemp("sketchrnn_onnx")
    card = export_model(model, ["a", "b", "c", "d"], out, steps=STEPS)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(out / "encoder.onnx"), opts, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(out / "decoder.onnx"), opts, providers=["CPUExecutionProvider"])
    return model, card, enc, dec, out


def test_card_and_io_names(exported):
    model, card, enc, dec, out = exported
    assert json.loads((out / "sketchrnn_card.json").read_text()) == card
    assert [i.name for i in enc.get_inputs()] == ["strokes5", "lengths"] and enc.get_outputs()[0].name == "mu"
    assert [i.name for i in dec.get_inputs()] == DECODER_INPUTS
    assert [o.name for o in dec.get_outputs()] == ["strokes5", "lengths"]
    assert card["decode_steps"] == STEPS and card["offset_std"] == pytest.approx(25.0)


@pytest.mark.parametrize("batch, length", [(1, 9), (8, 23), (8, 40)])
def test_encoder_parity_and_padding_invariance(exported, batch, length):
    model, _, enc, _, _ = exported
    ex = example_inputs(model, batch, 1, length, seed=batch + length)
    with torch.no_grad():
        mu = EncoderExport(model)(ex["strokes5"], ex["lengths"]).numpy()
    got = enc.run(None, {"strokes5": ex["strokes5"].numpy(), "lengths": ex["lengths"].numpy()})[0]
    np.testing.assert_allclose(got, mu, atol=2e-5, rtol=0)
    padded = np.concatenate([ex["strokes5"].numpy(), np.full((batch, 7, 5), 50.0, np.float32)], axis=1)
    got_padded = enc.run(None, {"strokes5": padded, "lengths": ex["lengths"].numpy()})[0]
    np.testing.assert_allclose(got_padded, mu, atol=2e-5, rtol=0)


@pytest.mark.parametrize("batch", [1, 8])
def test_decoder_parity(exported, batch):
    model, _, _, dec, _ = exported
    ex = example_inputs(model, batch, STEPS, 2, seed=10 + batch)
    ex["temperature"][0] = 0.0  # greedy and sampled rows in one batch
    with torch.no_grad():
        rows, lengths = DecoderExport(model)(*[ex[k] for k in DECODER_INPUTS])
    got_rows, got_lengths = dec.run(None, {k: ex[k].numpy() for k in DECODER_INPUTS})
    assert got_rows.shape == (batch, STEPS, 5) and got_lengths.dtype == np.int64
    if batch == 8:
        assert len(set(lengths.tolist())) >= 3  # ended and unended sketches are both compared
    np.testing.assert_array_equal(got_lengths, lengths.numpy())
    np.testing.assert_allclose(got_rows, rows.numpy(), atol=1e-4, rtol=1e-5)


def test_decode_is_a_pure_function_of_its_inputs(exported):
    model, _, _, dec, _ = exported
    z = np.random.default_rng(0).standard_normal((6, model.cfg.z_dim)).astype(np.float32)
    feeds = {"z": z, "class_index": np.arange(6, dtype=np.int64) % 4, "temperature": np.full(6, 0.8, np.float32)}
    a = dec.run(None, {**feeds, **make_noise_numpy(np.random.default_rng(1), 6, STEPS, model.cfg.num_mixtures)})
    b = dec.run(None, {**feeds, **make_noise_numpy(np.random.default_rng(1), 6, STEPS, model.cfg.num_mixtures)})
    c = dec.run(None, {**feeds, **make_noise_numpy(np.random.default_rng(2), 6, STEPS, model.cfg.num_mixtures)})
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])  # the noise is used at temperature > 0
    greedy = {**feeds, "temperature": np.zeros(6, np.float32)}
    g1 = dec.run(None, {**greedy, **make_noise_numpy(np.random.default_rng(1), 6, STEPS, model.cfg.num_mixtures)})
    g2 = dec.run(None, {**greedy, **make_noise_numpy(np.random.default_rng(2), 6, STEPS, model.cfg.num_mixtures)})
    np.testing.assert_array_equal(g1[0], g2[0])  # ... and ignored at temperature 0
