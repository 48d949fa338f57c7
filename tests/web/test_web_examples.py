"""The Browse view's data: service/static/examples.json (python -m service.web.examples) and GET /v1/examples.

The bundled drawings must be real validation drawings of their class, ordered by q as the served model
computes it; when the model changes these tests say to regenerate the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_support import MODEL_DIR, REPO, ServerProc

from service.web.examples import pick
from service.web.page import EXAMPLES_FILE
from service.web.schemas import GROUPS
from sketchprep.formats import read_ndjson
from sketchprep.split import split_of

REGENERATE = "regenerate it: python -m service.web.examples"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(EXAMPLES_FILE.read_text())


def entries(doc: dict[str, Any], category: str) -> list[dict[str, Any]]:
    return [d for g in GROUPS for d in doc["categories"][category]["groups"][g]]


def test_bundle_is_small_and_made_by_the_shipped_model(doc: dict[str, Any]) -> None:
    assert EXAMPLES_FILE.stat().st_size < 1_000_000
    card = json.loads((MODEL_DIR / "model_card.json").read_text())
    assert doc["model"]["sha256"] == card["onnx"]["sha256"], f"examples.json was made by another model: {REGENERATE}"
    assert list(doc["categories"]) == card["classes"]
    for category, entry in doc["categories"].items():
        drawings = entries(doc, category)
        assert 24 <= len(drawings) <= 3 * doc["per_group"], category
        qs = [d["quality"] for d in drawings]
        assert qs == sorted(qs), category
        ranks = [d["rank"] for d in drawings]
        assert ranks == sorted(ranks) and ranks[0] == 1 and ranks[-1] == entry["validation_count"], category


def test_pick_takes_the_bottom_middle_and_top() -> None:
    assert pick(100, 3) == {"bottom": [0, 1, 2], "middle": [49, 50, 51], "top": [97, 98, 99]}
    assert pick(5, 8) == {"bottom": [0], "middle": [2], "top": [4]}


def test_the_generators_split_is_the_training_split(data_dir: Path) -> None:
    splits = pytest.importorskip("training.data.splits", reason="the training sets need torch")
    records = list(read_ndjson(data_dir / "swan.ndjson.gz"))
    sets, _ = splits.split_sets(records, ["swan"], lambda strokes: strokes, keep_records=True)
    for name, s in sets.items():  # the training sets hold exactly the drawings the generator's split gives them
        assert [id(r) for r in s.records] == [id(r) for r in records if split_of(r.strokes) == name]
    assert all(len(s) for s in sets.values())


def test_bundled_drawings_are_real_validation_drawings(doc: dict[str, Any], data_dir: Path) -> None:
    """Each drawing is its data file's record (same key_id, same points) and falls in the validation split."""
    for category in ("cat", "triangle"):
        records = {}  # (key_id, drawing as JSON) -> record (a key_id alone is not unique in the data)
        for r in read_ndjson(data_dir / f"{category}.ndjson.gz"):
            drawing = [[s[:, 0].astype(int).tolist(), s[:, 1].astype(int).tolist()] for s in r.strokes]
            records[(r.key_id, json.dumps(drawing))] = r
        for d in entries(doc, category):
            rec = records[(d["key_id"], json.dumps(d["strokes"]))]
            assert split_of(rec.strokes) == "val"


def test_stored_q_is_what_the_service_answers(doc: dict[str, Any], web_server: ServerProc) -> None:
    drawings = [d for c in doc["categories"] for d in entries(doc, c)]
    for start in range(0, len(drawings), 256):
        chunk = drawings[start:start + 256]
        r = httpx.post(f"{web_server.url}/score", json={"sketches": [{"strokes": d["strokes"]} for d in chunk],
                                                         "top_k": 1}, timeout=60)
        assert r.status_code == 200, r.text[:300]
        for d, res in zip(chunk, r.json()["results"], strict=True):
            # bit for bit: the generator pads to the service's length buckets and uses the card's tables
            assert (res["quality"], res["quality_percentile"], res["class"]) == (
                d["quality"], d["quality_percentile"], d["class"]), REGENERATE


def test_examples_endpoint(doc: dict[str, Any], web_server: ServerProc) -> None:
    r = httpx.get(f"{web_server.url}/v1/examples", params={"category": "Alarm clock"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["category"] == "alarm_clock" and body["current"] is True
    assert body["groups"] == doc["categories"]["alarm_clock"]["groups"]
    assert body["model"] == doc["model"] and "CC BY 4.0" in body["licence"]
    assert "content-security-policy" not in r.headers  # an API answer, not the page
    for params, status in (({"category": "zebra"}, 422), ({}, 422), ({"category": "x" * 201}, 422)):
        bad = httpx.get(f"{web_server.url}/v1/examples", params=params)
        assert bad.status_code == status and bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["detail"]


def test_generator_rebuilds_the_committed_file(tmp_path: Path, data_dir: Path) -> None:
    """`python -m service.web.examples` on the shared data writes exactly the committed file."""
    out = tmp_path / "examples.json"
    run = subprocess.run([sys.executable, "-m", "service.web.examples", "--data", str(data_dir), "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert out.read_bytes() == EXAMPLES_FILE.read_bytes(), REGENERATE


def test_the_service_imports_neither_torch_nor_training() -> None:
    code = ("import sys; from service.main import create_app; create_app(); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'training')); "
            "assert not bad, bad")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
