"""The label-cleansing rule shared by POST /score's label_check and `sketchq clean`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sketchprep.card import LabelCheck, ModelCard
from sketchprep.label_rule import is_suspect, verdict
from sketchprep.preprocess import collate, sketch_to_points
from sketchprep.strokes import strokes_from_drawing

ROOT = Path(__file__).resolve().parents[2]
CHECK = LabelCheck(q_min=30.0, theta_suspect=0.9, q_reject=15.0, procedure="test")
# The README's example: a clean circle of 25 points, claimed to be a circle.
README_CIRCLE = [[[100, 98, 93, 85, 75, 63, 50, 37, 25, 15, 7, 2, 0, 2, 7, 15, 25, 37, 50, 63, 75, 85, 93, 98, 100],
                  [50, 63, 75, 85, 93, 98, 100, 98, 93, 85, 75, 63, 50, 37, 25, 15, 7, 2, 0, 2, 7, 15, 25, 37, 50]]]


def test_a_well_drawn_sketch_far_from_another_claimed_class_is_suspect() -> None:
    assert is_suspect(40.0, 1.2, predicted=3, label=5, check=CHECK)
    assert not is_suspect(29.9, 1.2, predicted=3, label=5, check=CHECK)  # poorly drawn: no evidence
    assert not is_suspect(40.0, 0.8, predicted=3, label=5, check=CHECK)  # close enough to the claimed class


def test_the_claimed_label_predicted_is_never_suspect() -> None:
    assert not is_suspect(1e6, math.pi / 2, predicted=5, label=5, check=CHECK)


def test_verdicts() -> None:
    assert verdict(14.9, True, CHECK) == "rejected"  # unusable whatever the label
    assert verdict(15.0, True, CHECK) == "suspect"
    assert verdict(15.0, False, CHECK) == "kept" and verdict(50.0, None, CHECK) == "kept"
    no_reject = CHECK.model_copy(update={"q_reject": None})
    assert verdict(-1e9, None, no_reject) == "kept"


def test_the_readme_circle_is_not_flagged_by_the_shipped_model() -> None:
    ort = pytest.importorskip("onnxruntime")
    model = ROOT / "models" / "gacl"
    card = ModelCard.load(model)
    sess = ort.InferenceSession(str(card.onnx_path(model)), providers=["CPUExecutionProvider"])
    x, lengths = collate([sketch_to_points(strokes_from_drawing(README_CIRCLE), card.preprocess.config())])
    q, cos, pred = sess.run(["q", "cos", "pred"], {"points": x, "lengths": lengths})  # (1,), (1, C), (1,)
    circle = card.classes.index("circle")
    theta = float(np.arccos(np.clip(cos[0, circle], -1.0, 1.0)))
    assert int(pred[0]) == circle
    assert not is_suspect(float(q[0]), theta, int(pred[0]), circle, card.thresholds.label_check)
