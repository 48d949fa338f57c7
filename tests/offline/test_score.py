"""`sketchq score`: the service's numbers, every input format, resume, and --workers."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from offline_support import write_ndjson
from server_proc import ServerProc

from offline.cli import main
from offline.commands import score
from offline.rows import SCHEMA
from offline.run import RunOptions, run_shards
from offline.scoring import EngineOptions
from sketchprep.formats import read_ndjson, write_bin
from sketchprep.strokes import strokes_to_stroke3

NUMBERS = ("quality", "quality_percentile", "confidence", "theta")


def _score(inputs: list[Path], out: Path, *extra: str) -> pa.Table:
    assert main(["score", *map(str, inputs), "--out", str(out), "--no-progress", *extra]) == 0
    return pq.read_table(out) if out.name.endswith(".parquet") else pa.Table.from_pylist(
        [__import__("json").loads(t) for t in out.read_text().splitlines()], schema=SCHEMA)


def test_rows_equal_the_services_answers(tmp_path: Path, objects, model_dir: Path) -> None:
    objs = objects("cat", 30) + objects("circle", 20) + objects("flamingo", 20)
    objs[3]["word"] = "circle"  # a wrong claim: suspect or not, both paths must agree
    table = _score([write_ndjson(tmp_path / "in.ndjson", objs)], tmp_path / "s.parquet").to_pylist()
    srv = ServerProc(model_dir=model_dir, cache="off")
    try:
        body = {"sketches": [{"strokes": o["drawing"], "label": o["word"]} for o in objs], "top_k": 1}
        answer = httpx.post(f"{srv.url}/score", json=body, timeout=60).json()["results"]
    finally:
        srv.stop()
    assert len(table) == len(answer) == len(objs)
    for row, res in zip(table, answer, strict=True):
        assert row["quality"] == res["quality"] and row["quality_percentile"] == res["quality_percentile"]
        assert row["predicted_class"] == res["class"] and row["confidence"] == res["confidence"]
        assert row["theta"] == res["label_check"]["theta"]
        assert row["label_suspect"] == res["label_check"]["suspect"]
        assert row["label_quality"] == res["label_check"]["quality"]


def test_every_input_format_gives_the_same_rows(tmp_path: Path, data_dir: Path) -> None:
    recs = [r for _, r in zip(range(40), read_ndjson(data_dir / "cat.ndjson.gz"), strict=False)]
    ref = _score([data_dir / "cat.ndjson.gz"], tmp_path / "ref.ndjson")
    ref = ref.slice(0, 40)
    gz = tmp_path / "in" / "cat.ndjson.gz"
    gz.parent.mkdir()
    with gzip.open(data_dir / "cat.ndjson.gz", "rt") as src, gzip.open(gz, "wt") as dst:
        dst.writelines(line for _, line in zip(range(40), src, strict=False))
    write_bin(recs, tmp_path / "in" / "cat.bin")
    np.savez(tmp_path / "in" / "cat.full.npz", allow_pickle=True,
             test=np.array([strokes_to_stroke3(r.strokes) for r in recs] + [np.zeros((0, 3))], dtype=object)[:-1])
    pq.write_table(pa.Table.from_pylist([{"drawing": [[s[:, 0].tolist(), s[:, 1].tolist()] for s in r.strokes],
                                          "word": "cat", "key_id": r.key_id} for r in recs]),
                   tmp_path / "in" / "cat.parquet")
    for name in ("cat.ndjson.gz", "cat.bin", "cat.full.npz", "cat.parquet"):
        got = _score([tmp_path / "in" / name], tmp_path / f"{name}.parquet")
        assert got.num_rows == 40 and set(got["category"].to_pylist()) == {"cat"}, name
        for col in NUMBERS:
            assert np.allclose(got[col].to_numpy(), ref[col].to_numpy(), rtol=0, atol=1e-9), (name, col)
    both = _score([str(tmp_path / "in" / "*.bin"), tmp_path / "in" / "cat.parquet"], tmp_path / "glob.parquet")
    assert both.num_rows == 80  # a glob and a file


def test_a_rerun_skips_finished_files(tmp_path: Path, data_dir: Path) -> None:
    inputs = (str(data_dir / "triangle.ndjson.gz"), str(data_dir / "square.ndjson.gz"))
    out = tmp_path / "s.parquet"
    opts = RunOptions(inputs, "parquet", EngineOptions(), progress=False)
    # an interrupted run: only the first file finished
    first = run_shards(RunOptions(inputs[:1], "parquet", EngineOptions(), progress=False), tmp_path / "s.parquet.parts")
    part = next((tmp_path / "s.parquet.parts").glob("*.parquet"))
    finished = pq.read_table(part)
    marked = finished.set_column(finished.schema.get_field_index("quality"), "quality",
                                 pa.array([-1.0] * finished.num_rows))
    pq.write_table(marked, part)  # a mark: the rerun must take this part as it is, not score the file again
    result = score(opts, out)
    assert [s.resumed for s in result.shards] == [True, False]
    table = pq.read_table(out)
    n = finished.num_rows
    assert table.slice(0, n).equals(marked)
    fresh = _score([Path(p) for p in inputs], tmp_path / "fresh.parquet")
    assert table.slice(n).equals(fresh.slice(n)) and fresh.slice(0, n).equals(finished)
    assert first.rows == sum(1 for _ in read_ndjson(Path(inputs[0])))
    assert main(["score", *inputs, "--out", str(out), "--no-progress"]) == 1  # finished: not silently redone


@pytest.mark.slow
def test_two_workers_give_the_same_file(tmp_path: Path, data_dir: Path) -> None:
    inputs = [data_dir / f"{c}.ndjson.gz" for c in ("triangle", "square", "swan")]
    one = _score(inputs, tmp_path / "one.parquet")
    two = _score(inputs, tmp_path / "two.parquet", "--workers", "2")
    assert one.equals(two) and one.num_rows > 1500


def test_a_record_without_a_category_is_scored_without_a_label_check(tmp_path: Path, objects) -> None:
    objs = [{"drawing": o["drawing"], "key_id": o["key_id"]} for o in objects("eye", 5)]
    rows = _score([write_ndjson(tmp_path / "nolabel.ndjson", objs)], tmp_path / "s.ndjson").to_pylist()
    assert len(rows) == 5
    for r in rows:
        assert r["category"] is None and r["theta"] is None and r["label_suspect"] is None
        assert r["verdict"] in ("kept", "rejected") and r["quality"] > 0


def test_a_run_keeps_no_shard_summary_in_memory(tmp_path: Path, data_dir: Path) -> None:
    """Memory stays flat in the number of input files: each shard's summary (its galleries hold drawings, about
    a megabyte) stays on disk in its sidecar, not in the run's results, and is read back one at a time."""
    from offline.shards import summary_of

    inputs = (str(data_dir / "triangle.ndjson.gz"), str(data_dir / "square.ndjson.gz"))
    parts = tmp_path / "parts"
    first = run_shards(RunOptions(inputs[:1], "parquet", EngineOptions(), progress=False), parts)
    again = run_shards(RunOptions(inputs, "parquet", EngineOptions(), progress=False), parts)  # one resumed
    assert [s.resumed for s in again.shards] == [True, False]
    assert all(s.summary == {} for s in (*first.shards, *again.shards))
    on_disk = summary_of(Path(inputs[1]), parts, "parquet")
    assert sum(on_disk["counts"].values()) == again.shards[1].rows and on_disk["lowest"]
