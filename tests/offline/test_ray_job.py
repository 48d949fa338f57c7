"""The Ray Data job on a real local Ray instance (ray.init(num_cpus=2)): the same rows as `sketchq score`."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from offline.cli import main
from offline.run import RunOptions
from offline.scoring import EngineOptions

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
from offline.ray_job import run_ray  # noqa: E402

COLUMNS = ("key_id", "file", "category", "quality", "quality_percentile", "predicted_class", "confidence", "theta",
           "label_suspect", "verdict")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def inputs(tmp_path: Path, objects) -> tuple[str, ...]:
    text = tmp_path / "triangles.ndjson.gz"
    # Ray does not number lines, so a record without key_id gets another fallback key there: give them one
    triangles = [{**o, "key_id": o["key_id"] or f"t{i}"} for i, o in enumerate(objects("triangle", 200))]
    lines = [json.dumps(o) for o in triangles]
    lines.insert(50, '{"word": "triangle", "drawing": [[[1, 2], [3')  # bad JSON
    with gzip.open(text, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    table = pa.Table.from_pylist([{"drawing": o["drawing"], "word": o["word"], "key_id": o["key_id"]}
                                  for o in objects("cat", 100) + objects("circle", 50)])
    pq.write_table(table, tmp_path / "cats.parquet")
    return str(text), str(tmp_path / "cats.parquet")


def _sorted(table: pa.Table) -> list[dict]:
    return sorted(table.select(list(COLUMNS)).to_pylist(), key=lambda r: r["key_id"])


def test_the_ray_job_gives_the_rows_of_sketchq_score(local_ray: None, inputs: tuple[str, ...], tmp_path: Path) -> None:
    local = tmp_path / "local.parquet"
    assert main(["score", *inputs, "--out", str(local), "--skip-bad", "--no-progress"]) == 0
    opts = RunOptions(inputs, "parquet", EngineOptions(), skip_bad=True, progress=False)
    result = run_ray(opts, tmp_path / "ray.parquet", "local", actors=2, actor_cpus=0.5)
    on_ray = pq.read_table(tmp_path / "ray.parquet")  # a folder of Parquet files, read as one table
    assert on_ray.num_rows == result.rows == 350 and result.bad == 1
    assert _sorted(on_ray) == _sorted(pq.read_table(local))


def test_a_bad_record_fails_the_job_with_its_message(local_ray: None, inputs: tuple[str, ...], tmp_path: Path) -> None:
    opts = RunOptions(inputs[:1], "parquet", EngineOptions(), progress=False)
    with pytest.raises(RuntimeError, match="bad JSON"):
        run_ray(opts, tmp_path / "ray.parquet", "local", actors=1, actor_cpus=0.5)
