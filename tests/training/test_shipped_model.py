"""The committed models: intact, calibrated, not collapsed, and as accurate as their cards say."""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from training.data.splits import load_splits

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
SHIPPED = ["gacl", "softmax"]


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request):
    folder = MODELS / request.param
    card = json.loads((folder / "model_card.json").read_text())
    sess = ort.InferenceSession(str(folder / card["onnx"]["file"]), providers=["CPUExecutionProvider"])
    return request.param, folder, card, sess


@pytest.fixture(scope="module")
def quality_model():
    card = json.loads((MODELS / "gacl" / "model_card.json").read_text())
    sess = ort.InferenceSession(str(MODELS / "gacl" / card["onnx"]["file"]), providers=["CPUExecutionProvider"])
    return card, sess


@pytest.fixture(scope="module")
def test_split(quality_model, data_dir):
    card, _ = quality_model  # both shipped models share classes and preprocessing
    _, sets = load_splits([data_dir], card["classes"], PreprocessConfig.from_dict(card["preprocess"]))
    return sets["test"]


def run(sess, points):
    x, lens = collate(points)
    return sess.run(None, {"points": x, "lengths": lens})


def test_card_matches_the_onnx_file(shipped):
    _, folder, card, _ = shipped
    digest = hashlib.sha256((folder / card["onnx"]["file"]).read_bytes()).hexdigest()
    assert digest == card["onnx"]["sha256"]
    assert sum(f.stat().st_size for f in MODELS.rglob("*") if f.is_file()) < 25 * 2**20
    assert len(card["classes"]) == 22
    for table in card["quality_percentiles"]["per_class"].values():
        assert len(table) == 101 and all(np.diff(table) >= 0)
    thr = card["thresholds"]["attribution"]
    assert 0 < thr["q_tau"] <= thr["q_max"]


def test_accuracy_on_held_out_sketches_matches_the_card(shipped, test_split):
    name, _, card, sess = shipped
    assert card["preprocess"] == json.loads((MODELS / "gacl" / "model_card.json").read_text())["preprocess"]
    idx = np.random.default_rng(0).choice(len(test_split), 600, replace=False)
    preds = np.concatenate([run(sess, [test_split.items[i] for i in idx[j:j + 200]])[2] for j in (0, 200, 400)])
    acc = float((preds == np.asarray(test_split.labels)[idx]).mean())
    assert acc > 0.7
    assert abs(acc - card["metrics"]["top1"]) < 0.06  # a 600-sketch sample of the same test split


def test_q_is_not_collapsed_on_real_sketches(quality_model, test_split):
    card, sess = quality_model
    q, cos, pred = run(sess, test_split.items[:500])
    assert np.isfinite(q).all() and np.isfinite(cos).all()
    assert q.std() / q.mean() > 0.1  # pilot 1's collapse had q = 22.3 for every sketch
    assert len(set(pred.tolist())) >= 15  # and a single predicted class
    gacl = card["gacl"]
    assert gacl["l_a"] <= np.median(q) <= gacl["u_a"]


def test_scribbles_score_below_real_sketches(quality_model, test_split):
    _, sess = quality_model
    rng = np.random.default_rng(0)
    scribbles = [sketch_to_points([np.cumsum(rng.normal(0, 10, (30, 2)), axis=0) for _ in range(3)])
                 for _ in range(200)]
    q_real = run(sess, test_split.items[:200])[0]
    q_scribble = run(sess, scribbles)[0]
    assert np.median(q_scribble) < np.median(q_real)


def test_committed_torch_weights_are_the_shipped_scorer(quality_model, test_split):
    """checkpoints/gacl/model.pt (the /enhance torch reference's critic) must be the weights that were
    exported to models/gacl: same classes, and the same q and cosines on real test sketches."""
    import torch

    from training.engine.checkpoints import load_net

    card, sess = quality_model
    net, ck = load_net(ROOT / "checkpoints" / "gacl" / "model.pt")
    assert list(ck["classes"]) == card["classes"] and "optim" not in ck
    points = test_split.items[:64]
    q_onnx, cos_onnx, _ = run(sess, points)
    x, lens = collate(points)
    with torch.no_grad():
        f, cos = net(torch.from_numpy(x), torch.from_numpy(lens))
    np.testing.assert_allclose(f.norm(dim=1).numpy(), q_onnx, rtol=1e-3)
    np.testing.assert_allclose(cos.numpy(), cos_onnx, atol=1e-4)
