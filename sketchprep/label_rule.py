"""The label-cleansing rule (paper Sec. 6), written once: POST /score's `label_check` and `sketchq clean` both
call it, with the thresholds of the model card (`thresholds.label_check`).

A drawing with a claimed label is
- **suspect** (probably mislabelled) when it is well drawn (q >= `q_min`), its angle to the claimed class is
  large (theta_label > `theta_suspect`) *and the model does not predict the claimed class*. Clean labels form
  the paper's "L" in the q-theta plane (high q, small angle); flipped labels the arm of the "U" at high q and
  large angle. The last condition is the fix for the README's circle: a drawing whose claimed label is the
  model's prediction is never flagged, however its angle compares with the threshold (the angle of a
  confident prediction can exceed it, the label is still the best the model knows);
- **rejected** (unusable) when q < `q_reject` (too poorly drawn to be labelled at all, the paper's "q < 0.1"),
  whatever its label; a card without `q_reject` (before `sketchq-train calibrate-labels`) rejects nothing;
- **kept** otherwise.
"""

from __future__ import annotations

from typing import Literal

from sketchprep.card import LabelCheck

Verdict = Literal["kept", "suspect", "rejected"]
VERDICTS: tuple[Verdict, ...] = ("kept", "suspect", "rejected")


def is_suspect(q: float, label_theta: float, predicted: int, label: int, check: LabelCheck) -> bool:
    """True when the claimed label (class index `label`) is probably wrong for a drawing of quality q whose
    angle to the claimed class centre is `label_theta` (radians) and whose predicted class is `predicted`."""
    return predicted != label and q >= check.q_min and label_theta > check.theta_suspect


def verdict(q: float, suspect: bool | None, check: LabelCheck) -> Verdict:
    """kept / suspect / rejected for one drawing (`suspect` from `is_suspect`, None when it has no label)."""
    if check.q_reject is not None and q < check.q_reject:
        return "rejected"
    return "suspect" if suspect else "kept"
