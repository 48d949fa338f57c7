"""The study table: CPU time adds the stage a run started from (through its epoch), rows render, seeds of one
recipe pool into a row of their own."""

import json

import numpy as np
import pytest
import torch

from training.reports.agreement_study import cpu_seconds, markdown, seed_pooled_rows


def write_run(folder, epochs_cpu, init_from=None, saved_epoch=None):
    folder.mkdir(parents=True)
    lines = [json.dumps({"kind": "step", "epoch": 0})]
    lines += [json.dumps({"kind": "epoch", "epoch": e, "epoch_cpu_seconds": c}) for e, c in enumerate(epochs_cpu)]
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    torch.save({"config": {"init_from": init_from}, "epoch": len(epochs_cpu) - 1}, folder / "last.pt")
    if saved_epoch is not None:
        torch.save({"config": {"init_from": None}, "epoch": saved_epoch}, folder / f"epoch_{saved_epoch:03d}.pt")


def test_cpu_seconds_counts_the_parent_stage_up_to_the_checkpoint_it_started_from(tmp_path):
    write_run(tmp_path / "softmax", [10.0, 20.0, 40.0, 80.0], saved_epoch=1)
    write_run(tmp_path / "gacl", [1.0, 2.0], init_from=str(tmp_path / "softmax" / "epoch_001.pt"))
    assert cpu_seconds(tmp_path / "gacl") == 1.0 + 2.0 + 10.0 + 20.0
    assert cpu_seconds(tmp_path / "softmax") == 150.0


def test_cpu_seconds_of_a_continuation_of_a_committed_checkpoint_is_its_own(tmp_path):
    write_run(tmp_path / "cont", [5.0, 6.0], init_from=str(tmp_path / "nowhere" / "model.pt"))
    assert cpu_seconds(tmp_path / "cont") == 11.0


def test_markdown_rows_show_interval_and_blank_cells_for_missing_parts():
    row = {"name": "x", "top1": 0.8, "auroc_q": 0.9, "agree": {"agreement": 0.7, "ci95": [0.65, 0.75]},
           "agree_clear": {"agreement": 0.8, "ci95": [0.7, 0.9]}}
    md = markdown([row, row | {"below_clean": {"jitter": 0.9, "drop": 0.85, "scribble": 0.95},
                               "cpu_seconds": 600.0, "claimed": {"agreement": 0.71},
                               "claimed_clear": {"agreement": 0.81},
                               "vs": {"reference": "c", "diff": 0.02, "ci95": [-0.01, 0.05]}}])
    lines = md.splitlines()
    assert lines[2] == "| x | 0.700 [0.650, 0.750] | 0.800 |  |  | 0.8000 | 0.900 |  |  |"
    assert lines[3].endswith("| 0.800 | 0.710 / 0.810 | +0.020 [-0.010, +0.050] vs c | 0.8000 | 0.900 | "
                             "0.900 / 0.850 / 0.950 | 10 |")


def study_row(key, agree, clear=0.8, cpu=60.0):
    return {"name": key, "key": key, "top1": 0.8, "auroc_q": 0.9, "cpu_seconds": cpu,
            "below_clean": {"jitter": 0.9, "drop": 0.8, "scribble": 0.7},
            "agree": {"agreement": agree, "ci95": [0.0, 1.0]}, "agree_clear": {"agreement": clear, "ci95": [0, 1]}}


def test_seeds_of_one_recipe_pool_into_a_mean_row_whose_credit_is_the_mean_per_pair():
    rows = [study_row("a-s1", 0.6), study_row("a-s2", 0.7, cpu=120.0), study_row("b-s1", 0.5),
            study_row("c", 0.9), {"name": "gacl-cos (exported, q)", "key": "gacl-cos-s9"}]  # exported: not a seed
    credits = {"a-s1": np.array([1.0, 0.0, 0.5]), "a-s2": np.array([0.0, 0.0, 1.0])}
    pooled = seed_pooled_rows(rows, credits)
    assert [r["key"] for r in pooled] == ["a"]  # b has one seed, c none
    a = pooled[0]
    assert a["name"].startswith("a (mean of seeds 1,2")
    assert a["agree"]["agreement"] == pytest.approx(0.65) and a["agree"]["ci95"] == [0.6, 0.7]  # mean, range
    assert a["cpu_seconds"] == 90.0
    np.testing.assert_array_equal(a["credit"], [0.5, 0.0, 0.75])


def test_mirrored_column_appears_only_with_mirrored_rows_and_pools_as_the_seed_mean():
    row = study_row("a-s1", 0.6) | {"mirrored": {"agree": 0.55, "agree_clear": 0.75}}
    plain = markdown([study_row("x", 0.6)]).splitlines()
    both = markdown([row, study_row("x", 0.6)]).splitlines()
    assert "mirrored" not in plain[0] and len(plain[1].split("|")) == len(both[1].split("|")) - 1
    assert "| 0.800 |  | 0.550 / 0.750 |  | 0.8000 |" in both[2]  # after the claimed cells, before the difference
    assert "| 0.800 |  |  |  | 0.8000 |" in both[3]  # a row without it: a blank cell
    pooled = seed_pooled_rows([row, study_row("a-s2", 0.7) | {"mirrored": {"agree": 0.65, "agree_clear": 0.85}}],
                              {"a-s1": np.zeros(2), "a-s2": np.ones(2)})
    assert pooled[0]["mirrored"] == pytest.approx({"agree": 0.6, "agree_clear": 0.8})


def test_mirrored_agreement_scores_the_flipped_drawings(tmp_path):
    from pathlib import Path

    from training.evaluation.agreement import load_pairs, mirrored_pairs
    from training.evaluation.agreement_eval import score_pairs
    from training.reports.agreement_study import mirrored_agreement

    ell = [[[0, 0, 60], [0, 100, 100]], [[30, 45], [20, 20]]]  # not left-right symmetric
    ell_flipped = [[[100, 100, 40], [0, 100, 100]], [[70, 55], [20, 20]]]  # x -> 100 - x, by hand
    others = [[[[0, 100], [0, 10]]], [[[0, 50, 100], [0, 80, 0]]], [[[10, 90, 90], [10, 10, 90]]]]
    others_flipped = [[[[100, 0], [0, 10]]], [[[100, 50, 0], [0, 80, 0]]], [[[90, 10, 10], [10, 10, 90]]]]

    def write(name, a, bs):
        rows = [{"id": i, "category": "cat", "a": {"drawing": a}, "b": {"drawing": b},
                 "ratings": [{"better": "A", "confidence": 3}] * 2} for i, b in enumerate(bs)]
        (tmp_path / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        return load_pairs(tmp_path / name)

    model = Path(__file__).resolve().parents[2] / "models" / "gacl"
    qa, qb = score_pairs(write("hand.jsonl", ell_flipped, others_flipped), model)["q"]
    expected = float(np.mean(qa > qb))
    got = mirrored_agreement(mirrored_pairs(write("drawn.jsonl", ell, others)), model, "q")
    assert got["agree"] == pytest.approx(expected) and got["agree_clear"] == pytest.approx(expected)
