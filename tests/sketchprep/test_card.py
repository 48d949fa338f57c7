"""The typed model card: the committed cards load and write back byte for byte, other versions are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sketchprep.card import CARD_FILE, READABLE_VERSIONS, ModelCard, UnsupportedCardError
from sketchprep.files import sha256_file

MODELS = Path(__file__).resolve().parents[2] / "models"
COMMITTED = sorted(p.parent for p in MODELS.glob(f"*/{CARD_FILE}"))


def test_there_are_committed_cards() -> None:
    assert {p.name for p in COMMITTED} >= {"gacl", "softmax"}


@pytest.mark.parametrize("model_dir", COMMITTED, ids=lambda p: p.name)
def test_a_committed_card_loads_and_writes_back_unchanged(model_dir: Path, tmp_path: Path) -> None:
    card = ModelCard.load(model_dir)
    assert card.card_version in READABLE_VERSIONS
    assert sha256_file(card.onnx_path(model_dir)) == card.onnx.sha256
    card.save(tmp_path)
    assert (tmp_path / CARD_FILE).read_text() == (model_dir / CARD_FILE).read_text()
    # the typed fields are the file's values
    raw = json.loads((model_dir / CARD_FILE).read_text())
    assert card.preprocess.config().max_points == raw["preprocess"]["max_points"]
    assert card.quality_percentiles.table(card.classes[0]) == raw["quality_percentiles"]["per_class"][card.classes[0]]
    assert card.thresholds.label_check.q_min == raw["thresholds"]["label_check"]["q_min"]


def test_an_attribution_block_without_the_calibrated_parts_stays_without_them(tmp_path: Path) -> None:
    card = ModelCard.load(MODELS / "softmax")
    assert card.thresholds.attribution.score is None and card.thresholds.attribution.rule is None
    assert set(card.to_json_dict()["thresholds"]["attribution"]) == {"q_tau", "q_max", "per_class", "procedure"}


@pytest.mark.parametrize("version", [3, 0, "1", True, None])
def test_another_card_version_is_refused_with_a_clear_message(version: object, tmp_path: Path) -> None:
    raw = json.loads((MODELS / "gacl" / CARD_FILE).read_text())
    if version is None:
        del raw["card_version"]
    else:
        raw["card_version"] = version
    (tmp_path / CARD_FILE).write_text(json.dumps(raw))
    with pytest.raises(UnsupportedCardError, match="card_version" if version is None else "not supported"):
        ModelCard.load(tmp_path)
    with pytest.raises(ValueError, match="version"):
        ModelCard.model_validate(raw)


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    raw = json.loads((MODELS / "gacl" / CARD_FILE).read_text())
    raw["thresholds"]["label_check"]["q_minimum"] = 1.0  # a typo must not pass silently
    with pytest.raises(ValueError, match="q_minimum"):
        ModelCard.model_validate(raw)
