"""The overview of the study: trainings grouped by recipe from the committed study tables, each training once,
rows without a seed left out, recipes best first, the shipped scorer from its card."""

import json

import pytest

from training.reports.agreement_overview import (
    AgreementOverviewArgs,
    by_recipe,
    collect,
    markdown,
    run_cli,
    shipped_reference,
)


def row(key, agree, clear, **extra):
    return {"name": key, "key": key, "agree": {"agreement": agree, "ci95": [0, 1]},
            "agree_clear": {"agreement": clear, "ci95": [0, 1]}} | extra


def write_studies(root):
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "study.json").write_text(json.dumps([
        row("softmax", 0.62, 0.68), row("gacl", 0.72, 0.76),
        row("full-x-s1", 0.70, 0.80, top1=0.8, below_clean={"scribble": 0.9}),
        row("full-x-s2", 0.60, 0.70, top1=0.9),
        row("full-x", 0.65, 0.75),  # the seed-pooled row
        row("control", 0.99, 0.99)]))  # a continuation run, no seed
    (root / "b" / "study.json").write_text(json.dumps([
        row("full-x-s1", 0.70, 0.80, top1=0.8),  # the same run listed again
        row("full-x-s2", 0.64, 0.72),  # seed 2 retrained elsewhere: a training of its own
        row("full-y-s1", 0.68, 0.77)]))


def test_trainings_are_grouped_by_recipe_once_each_and_ordered_by_mean(tmp_path):
    write_studies(tmp_path)
    groups = by_recipe(collect(tmp_path))
    assert list(groups) == ["full-y", "full-x"]  # 0.68 against mean(0.70, 0.60, 0.64) = 0.647
    assert sorted((t.seed, t.agree) for t in groups["full-x"]) == [(1, 0.70), (2, 0.60), (2, 0.64)]
    md = markdown(groups, ("shipped v9", 0.72, 0.76))
    assert "| full-x | 3 | 0.647 (0.600-0.700) | 0.740 (0.700-0.800) | 0.850 |" in md
    assert "| full-y | 1 | 0.680 (0.680-0.680) |" in md
    assert "control" not in md and "softmax" not in md
    assert "shipped v9: 0.720 / 0.760" in md


def test_the_shipped_reference_and_the_figure_come_from_the_card_and_tables(tmp_path):
    write_studies(tmp_path / "studies")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model_card.json").write_text(json.dumps({"version": 9, "metrics": {
        "checkpoint": "runs/study/full-x-s1/last.pt",
        "agreement": {"agree": {"q": 0.71}, "agree_clear": {"q": 0.79}}}}))
    assert shipped_reference(model) == ("shipped v9 (full-x-s1)", 0.71, 0.79)
    assert run_cli(AgreementOverviewArgs(out=tmp_path / "out", studies=tmp_path / "studies", shipped=model)) == 0
    assert (tmp_path / "out" / "overview.png").stat().st_size > 10_000
    assert "full-x" in (tmp_path / "out" / "overview.md").read_text()


def test_no_study_tables_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no \\*/study.json"):
        collect(tmp_path)
