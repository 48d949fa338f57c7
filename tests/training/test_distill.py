"""Ensemble distillation (training.losses.distill): the loss is scale-free and reads the order within each class,
the teacher refuses scorers of other classes or preprocessing, and a short fine-tune with it brings a student's
q order close to its teacher's, where the same fine-tune without it does not."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import small_config

from sketchprep.formats import read_records
from sketchprep.preprocess import PreprocessConfig
from sketchprep.split import split_of
from training.engine.checkpoints import load_checkpoint, load_net, probability_scale, save_checkpoint
from training.engine.loop import train
from training.engine.predict import score_strokes
from training.losses.distill import EnsembleTeacher, distill_loss, standardise, within_groups


def test_standardise_and_group_residuals() -> None:
    z = standardise(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert float(z.mean()) == pytest.approx(0.0, abs=1e-6) and float(z.pow(2).mean()) == pytest.approx(1.0, 1e-5)
    assert torch.all(standardise(torch.full((3,), 5.0)) == 0)  # a constant maps to zeros, not NaN
    r = within_groups(torch.tensor([1.0, 3.0, 10.0, 20.0, 30.0]), torch.tensor([0, 0, 2, 2, 2]))
    assert torch.allclose(r, torch.tensor([-1.0, 1.0, -10.0, 0.0, 10.0]))


def test_loss_is_zero_for_any_increasing_affine_copy_and_four_for_the_reverse() -> None:
    target = torch.tensor([0.3, -1.2, 0.8, 2.0, -0.5, 0.1])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    q = torch.exp(5.0 + 0.25 * target)  # another scale and offset of the same log order
    assert float(distill_loss(q, target, labels)) == pytest.approx(0.0, abs=1e-5)
    assert float(distill_loss(torch.exp(-target), target, labels)) == pytest.approx(4.0, abs=1e-5)


def test_the_within_class_term_sees_the_order_the_batch_term_misses() -> None:
    # two classes far apart; inside each the student reverses the teacher's order
    target = torch.tensor([10.0, 10.5, 11.0, 0.0, 0.5, 1.0])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    student = torch.tensor([11.0, 10.5, 10.0, 1.0, 0.5, 0.0])
    loss = float(distill_loss(torch.exp(student), target, labels))
    batch_term = 1.0 - float((standardise(student) * standardise(target)).mean())
    assert batch_term < 0.05  # the class gap alone gives a correlation near 1
    assert loss == pytest.approx(batch_term + 2.0, abs=1e-4)  # within classes: correlation -1


def test_gradient_moves_the_student_towards_the_teachers_order() -> None:
    target = torch.tensor([-1.0, 0.0, 1.0, -1.0, 0.0, 1.0])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    log_q = torch.tensor([0.2, 0.0, -0.1, 0.1, 0.3, 0.0], requires_grad=True)
    distill_loss(torch.exp(log_q), target, labels).backward()
    # descending the loss raises the drawings the teachers rank highest against those they rank lowest
    step = -log_q.grad
    assert step[2] > step[0] and step[5] > step[3]


@pytest.fixture(scope="module")
def teacher_and_start(synthetic_folder, tmp_path_factory, one_torch_thread):
    """A GACL teacher and a GACL student start, each from its own softmax stage and seed."""
    root = tmp_path_factory.mktemp("distill")
    for name, seed in (("teacher", 1), ("start", 2)):
        train(small_config(synthetic_folder, root / f"sm-{name}", head="softmax", epochs=2, seed=seed))
        train(small_config(synthetic_folder, root / name, head="gacl", epochs=2, lr=1e-3, seed=seed,
                           init_from=str(root / f"sm-{name}" / "last.pt"), q_init_median=60.0,
                           soft_binning=False))
    return root


def held_out_log_q(run_or_ck, folder) -> tuple[np.ndarray, np.ndarray]:
    net, ck = load_net(run_or_ck)
    records = [r for r in read_records([folder]) if split_of(r.strokes) != "train"]
    scores = score_strokes(net, [r.strokes for r in records], PreprocessConfig.from_dict(ck["preprocess"]),
                           probability_scale(ck))
    return np.log(scores["q"]), np.array([r.category for r in records])


def within_class_correlation(a: np.ndarray, b: np.ndarray, cats: np.ndarray) -> float:
    ra = a - np.array([a[cats == c].mean() for c in cats])
    rb = b - np.array([b[cats == c].mean() for c in cats])
    return float(np.corrcoef(ra, rb)[0, 1])


def test_distillation_brings_the_students_order_to_the_teachers(teacher_and_start, synthetic_folder,
                                                                  tmp_path) -> None:
    root = teacher_and_start
    teacher_q, cats = held_out_log_q(root / "teacher" / "last.pt", synthetic_folder)
    corr = {}
    for name, extra in (("plain", {}), ("distill", dict(distill_from=[str(root / "teacher" / "last.pt")],
                                                         distill_weight=8.0))):
        run = tmp_path / name
        train(small_config(synthetic_folder, run, head="gacl", epochs=2, lr=1e-3, seed=3, soft_binning=False,
                           init_from=str(root / "start" / "last.pt"), q_init_median=0.0, **extra))
        student_q, _ = held_out_log_q(run / "last.pt", synthetic_folder)
        corr[name] = within_class_correlation(student_q, teacher_q, cats)
    assert corr["distill"] > 0.8 and corr["distill"] > corr["plain"] + 0.2, corr


def test_teacher_refuses_other_classes_or_preprocessing(teacher_and_start, classes, tmp_path) -> None:
    path = teacher_and_start / "teacher" / "last.pt"
    ck = load_checkpoint(path)
    pre = ck["preprocess"]
    assert len(EnsembleTeacher.load([path, path], classes, pre)) == 2
    with pytest.raises(ValueError, match="classes differ"):
        EnsembleTeacher.load([path], list(reversed(classes)), pre)
    other = tmp_path / "other.pt"
    save_checkpoint(other, **{**ck, "preprocess": {**pre, "max_points": pre["max_points"] // 2}})
    with pytest.raises(ValueError, match="preprocessing"):
        EnsembleTeacher.load([other], classes, pre)
    with pytest.raises(ValueError, match="at least one"):
        EnsembleTeacher([])
