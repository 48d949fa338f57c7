"""Malformed records: a clear message naming file and line (exit 1, no traceback), or with --skip-bad a count
of what was skipped, and no good record lost."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from offline_support import write_ndjson

from offline.cli import main

BAD = {  # 0-based position in the file -> (the line, the words the message must contain)
    2: ('{"word": "cat", "drawing": [[[1, 2], [3, 4]]', "bad JSON"),
    5: ('{"word": "cat", "drawing": []}', "no point"),
    7: ('{"word": "cat", "drawing": [[[1, NaN, 3], [4, 5, 6]]]}', "non-finite"),
    9: ('{"word": "zeppelin", "drawing": [[[1, 2], [3, 4]]]}', "unknown category 'zeppelin'"),
    11: ('{"word": "cat", "drawing": [[[1, 2, 3], [4, 5]]]}', "not Quick, Draw! strokes"),
    13: ('[1, 2, 3]', "expected a JSON object"),
    15: ('{"word": "cat"}', "no `drawing` field"),
}


@pytest.fixture
def mixed(tmp_path: Path, objects) -> tuple[Path, list[str]]:
    good = objects("cat", 12) + objects("eye", 8)
    path = write_ndjson(tmp_path / "mixed.ndjson", good, {k: v[0] for k, v in BAD.items()})
    return path, [g["key_id"] for g in good]


def test_the_first_bad_record_stops_the_run_with_its_file_and_line(mixed, tmp_path: Path, capsys) -> None:
    path, _ = mixed
    out = tmp_path / "scores.parquet"
    assert main(["score", str(path), "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3: bad JSON" in err and "--skip-bad" in err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize("pos", sorted(BAD))
def test_each_kind_of_bad_record_is_named(pos: int, tmp_path: Path, objects, capsys) -> None:
    line, words = BAD[pos]
    path = write_ndjson(tmp_path / "one.ndjson", objects("cat", 2), {1: line})
    assert main(["score", str(path), "--out", str(tmp_path / "s.ndjson"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and words in err, err


def test_skip_bad_counts_them_and_keeps_every_good_record(mixed, tmp_path: Path, capsys) -> None:
    path, good_keys = mixed
    out = tmp_path / "scores.parquet"
    assert main(["score", str(path), "--out", str(out), "--skip-bad", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"skipped {len(BAD)} bad records" in err
    table = pq.read_table(out)
    assert table["key_id"].to_pylist() == good_keys  # all of them, in file order
    for col in ("quality", "quality_percentile", "confidence", "theta"):
        values = table[col].to_pylist()
        assert all(v is not None and v == v for v in values), col  # no null, no NaN


def test_a_missing_input_and_an_unknown_output_are_refused(tmp_path: Path, capsys) -> None:
    assert main(["score", str(tmp_path / "nothing.ndjson"), "--out", str(tmp_path / "s.parquet"), "--no-progress"]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "a.ndjson").write_text(json.dumps({"word": "cat", "drawing": [[[0, 5], [0, 5]]]}) + "\n")
    assert main(["score", str(tmp_path / "a.ndjson"), "--out", str(tmp_path / "s.csv"), "--no-progress"]) == 1
    assert ".parquet or .ndjson" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "*.nothing"), "--out", str(tmp_path / "s.parquet"), "--no-progress"]) == 1
    assert "matches no sketch file" in capsys.readouterr().err


@pytest.mark.parametrize("bad_file", [0, 3])
def test_a_bad_record_stops_a_run_with_workers_too(bad_file: int, tmp_path: Path, objects, capsys) -> None:
    """With --workers 2 this process scores files too and a child scores others: whichever meets the bad record
    (the first file is usually this process's, the last a child's), the run stops with its file and line."""
    paths = []
    for k, cat in enumerate(("cat", "eye", "dog", "owl")):
        bad = {5: '{"word": "cat", "drawing": [[[1, 2], [3]]]}'} if k == bad_file else {}
        paths.append(write_ndjson(tmp_path / f"f{k}.ndjson", objects(cat, 300), bad))
    out = tmp_path / "scores.parquet"
    assert main(["score", *map(str, paths), "--out", str(out), "--no-progress", "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert f"{paths[bad_file]}:6:" in err and "--skip-bad" in err, err
    assert "Traceback" not in err and not out.exists()
