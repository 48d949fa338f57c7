"""training.evaluation.evaluate's corruption test and recognised-vs-not AUROC, with their own scores and with a
readout of other scores."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sketchprep.preprocess import PreprocessConfig  # noqa: E402
from training.data.splits import load_splits  # noqa: E402
from training.engine.checkpoints import load_net, probability_scale  # noqa: E402
from training.engine.config import TrainConfig  # noqa: E402
from training.engine.loop import train  # noqa: E402
from training.evaluation.evaluate import corruption_test, recognized_auroc  # noqa: E402

CLASSES = ["circle", "zigzag", "cross"]


@pytest.fixture(scope="module")
def trained(synthetic_folder, tmp_path_factory):
    run = tmp_path_factory.mktemp("evaluate") / "run"
    train(TrainConfig(data=[str(synthetic_folder)], categories=CLASSES, out_dir=str(run),
                      preset="conv-compact", batch_size=32, epochs=1, max_steps=4, q_init_median=60.0,
                      ramp_steps=2, soft_binning=False))
    net, ck = load_net(run / "last.pt")
    pre = PreprocessConfig.from_dict(ck["preprocess"])
    _, sets = load_splits([str(synthetic_folder)], ck["classes"], pre, keep_records=True)
    return net, sets, pre, probability_scale(ck)


def test_the_corruption_test_reads_the_scores_a_readout_gives(trained):
    """The default scores, and a readout: q itself gives the same fractions as the default's q, and -q (higher
    when q falls) the complement of q's 'below clean at severity 3' wherever nothing ties."""
    net, sets, pre, s = trained
    default = corruption_test(net, sets["val"], 30, pre, s, seed=3)
    read = corruption_test(net, sets["val"], 30, pre, s, seed=3,
                           readout=lambda out: {"q": out["q"], "minus_q": -out["q"]})
    for kind, res in default.items():
        assert set(res) == {"n", "q", "max_prob", "max_cos"} and set(read[kind]) == {"n", "q", "minus_q"}
        assert read[kind]["q"] == res["q"]
        assert read[kind]["minus_q"]["below_clean_at_3"] == pytest.approx(1.0 - res["q"]["below_clean_at_3"])
        assert 0.0 <= res["q"]["below_clean_at_3"] <= 1.0 and res["n"] > 0
    assert np.isfinite([res["q"]["monotone"] for res in default.values()]).all()


def test_the_auroc_reads_the_scores_a_readout_gives(trained):
    """Recognised against unrecognised drawings (the synthetic data flags every tenth): a readout's q gives the
    default's AUROC of q, and -q its complement."""
    net, sets, pre, s = trained
    default = recognized_auroc(net, sets, ("val", "test"), CLASSES, pre, s)
    read = recognized_auroc(net, sets, ("val", "test"), CLASSES, pre, s,
                            readout=lambda out: {"q": out["q"], "minus_q": -out["q"]})
    assert default["n_unrecognized"] > 0 and set(read["pooled"]) == {"q", "minus_q", "n_unrecognized"}
    assert read["pooled"]["q"] == default["pooled"]["q"]
    assert read["pooled"]["minus_q"] == pytest.approx(1.0 - default["pooled"]["q"])
