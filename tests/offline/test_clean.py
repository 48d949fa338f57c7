"""`sketchq clean`: the outputs partition the input by the shared rule, flipped labels are found, and the report
is one self-contained file."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from offline_support import write_ndjson

from offline.cli import main
from sketchprep.card import ModelCard


def test_clean_splits_by_the_rule_and_finds_flipped_labels(tmp_path: Path, objects, model_dir: Path) -> None:
    objs = objects("circle", 40) + objects("eye", 40) + objects("flamingo", 40)
    flipped = set()
    for i in range(0, len(objs), 6):  # every sixth drawing claims the next category instead of its own
        objs[i]["word"] = {"circle": "eye", "eye": "flamingo", "flamingo": "circle"}[objs[i]["word"]]
        flipped.add(objs[i]["key_id"])
    out = tmp_path / "cleaned"
    assert main(["clean", str(write_ndjson(tmp_path / "in.ndjson", objs)), "--out", str(out), "--no-progress"]) == 0
    parts = {v: pq.read_table(out / f"{v}.parquet") for v in ("kept", "suspect", "rejected")}
    keys = [k for t in parts.values() for k in t["key_id"].to_pylist()]
    assert sorted(keys) == sorted(o["key_id"] for o in objs)  # every drawing in exactly one output
    check = ModelCard.load(model_dir).thresholds.label_check
    rows = pa.concat_tables(parts.values()).to_pylist()
    for r in rows:  # the card's thresholds, applied here independently of the code under test
        rejected = check.q_reject is not None and r["quality"] < check.q_reject
        suspect = (r["predicted_class"] != r["category"] and r["quality"] >= check.q_min
                   and r["theta"] > check.theta_suspect)
        assert r["verdict"] == ("rejected" if rejected else "suspect" if suspect else "kept"), r
    suspects = set(parts["suspect"]["key_id"].to_pylist())
    # mostly the flipped ones (a fifth of this sample is flipped): the shipped rule's precision on the validation
    # split is 0.84-0.97 at 10-40 % flipped (the card's calibration); on these 23-ish suspects one drawing is 4 %
    assert suspects and len(suspects & flipped) / len(suspects) >= 0.75
    assert len(suspects & flipped) >= len(flipped) // 2

    page = (out / "report.html").read_text()
    assert "<script" not in page and not re.search(r"(src|href)=\"?(https?:|//)", page)  # self-contained
    assert page.count("<svg") > 3 and "q against &#952;" in page  # scatter, histograms, drawings
    assert f"<th>suspect</th><td>{len(suspects)}</td>" in page
    assert not (out / "parts").exists()
