"""The model card: everything the service needs besides the ONNX graph, computed from validation data.

Calibration procedures (all on the validation split, by *predicted* class, which is what the service
knows at inference time):
- quality percentiles: q at levels 0..100 per class and over all classes; the service interpolates a
  sketch's q in its predicted class's table to report `quality_percentile`.
- label check (paper Sec. 6): a claimed label is suspect when q >= `q_min` (the validation median: the
  sketch is well drawn, so the model's view is trustworthy) and the angle to the claimed class exceeds
  `theta_suspect` (the 95th percentile of the angle to the true class among validation sketches with
  q >= q_min).
- attribution (paper Sec. 4.4): initial `q_tau` = 10th percentile of q in the class (below: the sketch
  needs explaining), `q_max` = 25th percentile (a cleaned sketch reaching it looks like an ordinary
  drawing); `sketchq-train calibrate` replaces them with the calibrated rule (training.export.calibrate_attribution).
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

import numpy as np
import torch

from sketchprep.card import (
    CARD_VERSION,
    AttributionThresholds,
    EncoderBlock,
    LabelCheck,
    ModelCard,
    OnnxBlock,
    PreprocessBlock,
    QThresholds,
    QualityPercentiles,
    Thresholds,
)
from sketchprep.preprocess import PreprocessConfig
from training.data.splits import load_splits
from training.engine.checkpoints import probability_scale
from training.engine.predict import predict
from training.model.network import SketchQualityNet

LEVELS = list(range(101))
Q_TAU_PERCENTILE = 10
Q_MAX_PERCENTILE = 25
THETA_PERCENTILE = 95


def _pct(values: np.ndarray, level: float) -> float:
    return float(np.percentile(values, level)) if len(values) else float("nan")


def validation_thresholds(q: np.ndarray, cos: np.ndarray, labels: np.ndarray, classes: list[str],
                          ) -> tuple[QualityPercentiles, Thresholds]:
    """q (N,), cos (N, C), labels (N,) of the validation split -> percentile tables and thresholds."""
    pred = cos.argmax(1)
    theta_true = np.arccos(np.clip(cos[np.arange(len(labels)), labels], -1.0, 1.0))
    per_class, attribution = {}, {}
    for c, name in enumerate(classes):
        qc = q[pred == c] if (pred == c).sum() >= 10 else q[labels == c]
        per_class[name] = [round(float(v), 4) for v in np.percentile(qc, LEVELS)]
        attribution[name] = QThresholds(q_tau=_pct(qc, Q_TAU_PERCENTILE), q_max=_pct(qc, Q_MAX_PERCENTILE))
    q_min = float(np.median(q))
    confident = q >= q_min
    percentiles = QualityPercentiles(levels=LEVELS, per_class=per_class,
                                     global_=[round(float(v), 4) for v in np.percentile(q, LEVELS)])
    thresholds = Thresholds(
        label_check=LabelCheck(q_min=q_min, theta_suspect=_pct(theta_true[confident], THETA_PERCENTILE),
                               procedure=f"suspect if q >= validation median q and angle to the claimed "
                                         f"class > p{THETA_PERCENTILE} of the angle to the true class"),
        attribution=AttributionThresholds(
            q_tau=_pct(q, Q_TAU_PERCENTILE), q_max=_pct(q, Q_MAX_PERCENTILE), per_class=attribution,
            procedure=f"q_tau = p{Q_TAU_PERCENTILE}, q_max = p{Q_MAX_PERCENTILE} of "
                      "validation q by predicted class (global: all classes)"))
    return percentiles, thresholds


def build_model_card(net: SketchQualityNet, ck: dict, data: list[str], name: str, version: str,
                     metrics: dict, onnx: OnnxBlock) -> ModelCard:
    pre = PreprocessConfig.from_dict(ck["preprocess"])
    classes, sets = load_splits(data, ck["classes"], pre, keep_records=True)
    f, cos = predict(net, sets["val"])
    q = torch.linalg.vector_norm(f, dim=1).numpy()
    labels = np.asarray(sets["val"].labels)
    sources = collections.Counter(
        (r.source or "unknown").split(":")[0] for s in sets.values() for r in s.records)
    train_cfg = ck["config"]
    percentiles, thresholds = validation_thresholds(q, cos.numpy(), labels, classes)
    return ModelCard(
        card_version=CARD_VERSION, name=name, version=version,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), classes=classes,
        preprocess=PreprocessBlock.of(pre),
        encoder=EncoderBlock(kind=ck["encoder"]["kind"], config=ck["encoder"]["config"],
                             parameters=sum(p.numel() for p in net.encoder.parameters())),
        head=ck["head"], gacl=ck["gacl"], probability_scale=probability_scale(ck),
        feature_scale=float(net.feature_scale), quality_percentiles=percentiles, thresholds=thresholds,
        metrics=metrics,
        training={k: train_cfg[k] for k in ("preset", "head", "epochs", "batch_size", "optimizer", "lr",
                                            "weight_decay", "schedule", "warmup_steps", "seed", "init_from",
                                            "q_init_median", "ramp_steps", "soft_binning", "augment")}
        | {k: v for k, v in train_cfg.items() if k.startswith("rank_")},
        data={"paths": [str(Path(p)) for p in data], "split": "sha256 of the drawing's integer points; "
              "80/10/10 train/val/test", "counts": {k: len(v) for k, v in sets.items()},
              "sources": dict(sources.most_common()), "licence": "Quick, Draw! data (c) Google, CC BY 4.0"},
        onnx=onnx)
