"""The engine and the model card: provider choice, IO binding, checksum, and how outputs are read."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from service.core.errors import ModelLoadError
from service.core.settings import Settings
from service.inference.engine import Engine
from service.inference.loaded_model import LoadedModel
from service.inference.outputs import RawScore
from service.inference.providers import CPU, CUDA, select_providers
from service.main import create_app
from sketchprep.preprocess import collate, sketch_to_points
from sketchprep.strokes import strokes_from_drawing


def test_provider_selection() -> None:
    assert select_providers("auto", [CUDA, CPU])[0][0] == CUDA
    assert select_providers("auto", [CUDA, CPU])[-1] == CPU
    assert select_providers("auto", ["AzureExecutionProvider", CPU]) == [CPU]
    assert select_providers("cpu", [CUDA, CPU]) == [CPU]
    cuda_first = select_providers("cuda", [CUDA, CPU], 1)[0]
    assert cuda_first == (CUDA, {"device_id": 1, "cudnn_conv_algo_search": "HEURISTIC"})
    with pytest.raises(ModelLoadError, match="onnxruntime-gpu"):
        select_providers("cuda", [CPU])


def test_engine_reports_the_providers_really_in_use(model_path: Path) -> None:
    engine = Engine(LoadedModel.load(model_path), Settings(model_dir=model_path))
    assert engine.providers == engine.session.get_providers()
    assert engine.providers[-1] == CPU
    assert engine.device == ("cuda" if CUDA in engine.providers else "cpu")


def test_device_cuda_refuses_to_start_without_cuda(model_path: Path) -> None:
    if CUDA in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; the refusal path needs a CPU-only build")
    with pytest.raises(ModelLoadError):
        Engine(LoadedModel.load(model_path), Settings(model_dir=model_path, device="cuda"))


def test_io_binding_gives_the_same_numbers(model_path: Path, sketches: list[dict]) -> None:
    card = LoadedModel.load(model_path)
    plain = Engine(card, Settings(model_dir=model_path, io_binding="off"))
    bound = Engine(card, Settings(model_dir=model_path, io_binding="on"))
    assert bound.io_binding and not plain.io_binding
    points = [sketch_to_points(strokes_from_drawing(s["strokes"])) for s in sketches[:24]]
    batch, lengths = collate(points, card.preprocess.max_points)  # (24, T, 7), (24,)
    a, b = plain.run(batch, lengths), bound.run(batch, lengths)
    assert np.array_equal(a.q, b.q) and np.array_equal(a.cos, b.cos) and np.array_equal(a.pred, b.pred)
    assert a.cos.shape == (24, len(card.classes)) and a.q.dtype == np.float32 and a.pred.dtype == np.int64


def test_checksum_mismatch_refuses_to_load(model_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_path, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card["onnx"]["sha256"] = "0" * 64
    (copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="sha256"):
        LoadedModel.load(copy)
    assert LoadedModel.load(copy, verify_sha256=False).sha256 != "0" * 64
    with pytest.raises(ModelLoadError):
        LoadedModel.load(tmp_path / "missing")


def test_a_card_of_another_version_is_refused(model_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_path, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card["card_version"] = 3
    (copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="model card version 3 is not supported"):
        LoadedModel.load(copy)


def test_app_does_not_start_on_a_broken_model(tmp_path: Path) -> None:
    app = create_app(Settings(model_dir=tmp_path))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(ModelLoadError):
        asyncio.run(start())


def test_interpretation_follows_the_card(model_path: Path) -> None:
    card = LoadedModel.load(model_path)
    n = len(card.classes)
    label, pred = 0, n - 1
    far, near = card.theta_suspect + 0.2, card.theta_suspect - 0.2
    cos = np.full(n, 0.1, np.float32)
    cos[pred] = 0.95
    cos[label] = math.cos(far)
    high_q = max(card.q_min + 1.0, 1.0)

    r = card.interpret(RawScore(high_q, cos, pred), top_k=3, label_index=label)
    assert r.class_index == pred and len(r.top_k) == 3 and r.top_k[0][0] == pred
    assert math.isclose(r.theta, math.acos(0.95), rel_tol=1e-6)
    logits = card.probability_scale * cos.astype(np.float64)
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert math.isclose(r.confidence, probs[pred], rel_tol=1e-9)
    assert math.isclose(r.label_theta, far, rel_tol=1e-5) and r.label_suspect is True
    expected_pct = np.interp(high_q, card.tables[pred], card.levels) / 100
    assert math.isclose(r.quality_percentile, expected_pct) and 0 <= r.quality_percentile <= 1

    low = card.interpret(RawScore(card.q_min - 1e-3, cos, pred), 3, label)
    assert low.label_suspect is False  # poorly drawn sketches are not flagged
    cos[label] = math.cos(near)
    assert card.interpret(RawScore(high_q, cos, pred), 3, label).label_suspect is False  # close enough
    assert card.interpret(RawScore(high_q, cos, pred), 3, None).label_suspect is None

    assert card.interpret(RawScore(-1e9, cos, pred), 3, None).quality_percentile == 0.0
    assert card.interpret(RawScore(1e9, cos, pred), 3, None).quality_percentile == 1.0


def test_warmup_runs_every_bucket_shape(model_path: Path) -> None:
    engine = Engine(LoadedModel.load(model_path), Settings(model_dir=model_path))
    shapes = []
    run = engine.run

    def recording(points: np.ndarray, lengths: np.ndarray):  # type: ignore[no-untyped-def]
        shapes.append(points.shape)
        return run(points, lengths)

    engine.run = recording  # type: ignore[method-assign]
    engine.warmup([32, 64, 128], [1, 64])
    assert sorted(shapes) == sorted((b, t, 7) for t in (32, 64, 128) for b in (1, 64))
