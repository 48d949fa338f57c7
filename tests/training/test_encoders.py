"""Padding invariance (torch and ONNX) and torch-vs-ONNX Runtime parity of the exported graph."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from sketchprep.preprocess import collate
from training.export.model import export_onnx
from training.model import ENCODER_PRESETS, SketchQualityNet
from training.model.encoders import reverse_within_length
from training.model.network import ExportWrapper


def make_net(preset: str, classes: int = 5, seed: int = 0) -> SketchQualityNet:
    torch.manual_seed(seed)
    spec = ENCODER_PRESETS[preset]
    net = SketchQualityNet(spec.kind, spec.config, classes).eval()
    net.feature_scale.fill_(7.0)
    return net


def random_points(n: int, rng: np.random.Generator) -> np.ndarray:
    pts = rng.uniform(-1, 1, (n, 7)).astype(np.float32)
    pts[:, 4:] = 0
    pts[:, 4] = 1
    pts[-1, 4:] = (0, 0, 1)
    return pts


@pytest.fixture(scope="module")
def sketches(synthetic_batch):
    rng = np.random.default_rng(3)
    return list(synthetic_batch[0][:6]) + [random_points(n, rng) for n in (1, 2, 7, 33, 128)]


@pytest.mark.parametrize("preset", ["conv-compact", "conv-compact-abs", "bilstm-small", "bilstm-small-offsets",
                                    "raster-small", "hybrid-small"])
def test_padding_does_not_change_q_or_class_in_torch(preset, sketches):
    net = make_net(preset)
    with torch.no_grad():
        for p in sketches:
            alone_x, alone_l = collate([p])
            q_alone, cos_alone, pred_alone = ExportWrapper(net)(torch.from_numpy(alone_x), torch.from_numpy(alone_l))
            batch_x, batch_l = collate(sketches, length=160)  # padded longer than any sketch
            q_b, cos_b, pred_b = ExportWrapper(net)(torch.from_numpy(batch_x), torch.from_numpy(batch_l))
            i = next(i for i, s in enumerate(sketches) if s is p)
            assert float(q_b[i]) == pytest.approx(float(q_alone[0]), rel=1e-5)
            np.testing.assert_allclose(cos_b[i].numpy(), cos_alone[0].numpy(), atol=1e-5)
            assert int(pred_b[i]) == int(pred_alone[0])


def test_padding_sensitivity_would_be_detected():
    """The invariance test above can fail: garbage in the padding of an unmasked read changes results."""
    net = make_net("conv-compact")
    rng = np.random.default_rng(0)
    p = random_points(20, rng)
    x, lens = collate([p], length=40)
    x_garbage = x.copy()
    x_garbage[0, 20:] = 5.0
    with torch.no_grad():
        clean = net(torch.from_numpy(x), torch.from_numpy(lens))[0]
        dirty = net(torch.from_numpy(x_garbage), torch.from_numpy(lens))[0]
        wrong_len = net(torch.from_numpy(x_garbage), torch.tensor([40]))[0]
    torch.testing.assert_close(clean, dirty)  # masked: garbage padding is never read
    assert (clean - wrong_len).abs().max() > 1e-3  # but reading it (a wrong length) changes f


def test_reverse_within_length_keeps_padding_in_place():
    x = torch.arange(10.0).reshape(1, 5, 2).repeat(2, 1, 1)
    r = reverse_within_length(x, torch.tensor([3, 5]))
    assert r[0, :, 0].tolist() == [4.0, 2.0, 0.0, 6.0, 8.0]
    assert r[1, :, 0].tolist() == [8.0, 6.0, 4.0, 2.0, 0.0]


@pytest.fixture(scope="module", params=["conv-compact", "bilstm-small", "raster-small"])
def exported(request, tmp_path_factory):
    net = make_net(request.param, classes=7, seed=1)
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    export_onnx(net, path, max_points=128)
    return net, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("batch,max_len", [(1, 1), (1, 128), (3, 9), (3, 100), (64, 64), (64, 128)])
def test_onnx_matches_torch(exported, batch, max_len):
    net, sess = exported
    rng = np.random.default_rng(batch * 1000 + max_len)
    pts = [random_points(int(rng.integers(1, max_len + 1)), rng) for _ in range(batch)]
    pts[0] = random_points(max_len, rng)
    x, lens = collate(pts)
    q, cos, pred = sess.run(None, {"points": x, "lengths": lens})
    with torch.no_grad():
        tq, tcos, tpred = ExportWrapper(net)(torch.from_numpy(x), torch.from_numpy(lens))
    np.testing.assert_allclose(cos, tcos.numpy(), atol=1e-4)
    np.testing.assert_allclose(q, tq.numpy(), rtol=1e-3)
    assert (pred == tpred.numpy()).all()


def test_onnx_padding_invariance(exported, sketches):
    _, sess = exported
    x, lens = collate(sketches, length=150)
    q_b, cos_b, pred_b = sess.run(None, {"points": x, "lengths": lens})
    for i, p in enumerate(sketches):
        xa, la = collate([p])
        q, cos, pred = sess.run(None, {"points": xa, "lengths": la})
        assert q[0] == pytest.approx(q_b[i], rel=1e-5)
        np.testing.assert_allclose(cos[0], cos_b[i], atol=1e-5)
        assert pred[0] == pred_b[i]


@pytest.mark.parametrize("preset, reads_offsets",
                         [("conv-compact", True), ("conv-compact-abs", False),
                          ("bilstm-small", False), ("bilstm-small-offsets", True)])
def test_input_features_select_what_the_encoder_reads(preset, reads_offsets, sketches):
    """The encoder-design study compares inputs with and without offsets (features 2, 3): a preset without
    them must ignore those channels entirely, one with them must not."""
    net = make_net(preset)
    x, lens = collate(sketches)
    x2 = x.copy()
    x2[:, :, 2:4] += np.random.default_rng(0).normal(0, 1, x2[:, :, 2:4].shape).astype(np.float32)
    with torch.no_grad():
        f1 = net.features(torch.from_numpy(x), torch.from_numpy(lens))
        f2 = net.features(torch.from_numpy(x2), torch.from_numpy(lens))
    assert torch.allclose(f1, f2) != reads_offsets


def test_rasterize_draws_pen_down_segments_and_not_the_jumps_between_strokes():
    from sketchprep.preprocess import sketch_to_points
    from training.model.raster import rasterize

    # two horizontal strokes: top edge left to right, bottom edge left to right; the pen-up jump from the
    # top-right to the bottom-left corner is a diagonal that must stay blank
    strokes = [np.array([[0.0, 0.0], [100.0, 0.0]]), np.array([[0.0, 100.0], [100.0, 100.0]])]
    x, lens = collate([sketch_to_points(strokes)])
    img = rasterize(torch.from_numpy(x), torch.from_numpy(lens), size=32, samples=16)[0, 0]  # (32, 32)
    assert img[0].min() > 0.5 and img[31].min() > 0.5, "both strokes inked along their whole length"
    assert img[8:24, 8:24].max() == 0.0, "the jump between strokes is not drawn"
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
