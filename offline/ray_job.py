"""`sketchq score --ray ADDRESS`: the same scoring as a Ray Data job, for data sets past one machine.

    read (NDJSON lines or Parquet rows, local paths or object store URIs: s3://, gs://, ...)
      -> map_batches(ScoreActor, actor pool of N: one OfflineScorer, so one ONNX Runtime session, per actor;
         one GPU per actor when the cluster has GPUs)
      -> write Parquet (or NDJSON): a folder PATH.parquet/ (PATH.ndjson/) of files, readable as one table.

Rows are those of `sketchq score` (`offline.rows.SCHEMA`, the same records parsed by `offline.inputs.from_object`
and scored by `offline.scoring.OfflineScorer`), in no particular order; `line` is null (Ray's readers do not
number lines), so a record without a key_id is keyed FILE#<sha1 of its line> instead of FILE:LINE. A malformed
record fails the job with its message, or with --skip-bad is dropped and counted (records read minus rows
written). Every node needs the model folder at the same path (bake it into the image, as docker/Dockerfile does).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import ray

from offline.inputs import category_check, expand, from_object
from offline.records import BadRecord, BadRecordError
from offline.rows import SCHEMA
from offline.run import RunOptions, RunResult
from offline.scoring import EngineOptions, OfflineScorer
from offline.shards import ShardResult
from sketchprep.formats import decode_json

RAY_BATCH = 1024  # drawings per actor call


class ScoreActor:
    """One ONNX Runtime session for the actor's lifetime; each call scores a batch of raw records."""

    def __init__(self, engine: EngineOptions, skip_bad: bool) -> None:
        self.scorer = OfflineScorer(engine)
        self.known = category_check(self.scorer.classes)
        self.skip_bad = skip_bad

    def __call__(self, batch: pa.Table) -> pa.Table:
        drawings = []
        for row in batch.to_pylist():
            path, text = Path(row["path"]), row["text"]
            if not text.strip():
                continue
            key = f"{path}#{hashlib.sha1(text.encode()).hexdigest()[:16]}"
            try:
                obj: Any = decode_json(text)
            except ValueError as e:
                obj = BadRecord(str(path), 0, f"bad JSON ({e})")
            item = obj if isinstance(obj, BadRecord) else from_object(obj, path, 0, self.known)
            if isinstance(item, BadRecord):
                if self.skip_bad:
                    continue
                raise BadRecordError(BadRecord(item.file, item.line, f"{item.reason} (record {key})"))
            drawings.append(item if item.key_id != f"{path}:0" else replace(item, key_id=key))
        rows = self.scorer.score(drawings)
        for r in rows:
            r["line"] = None
        return pa.Table.from_pylist(rows, schema=SCHEMA)


def _as_lines(batch: pa.Table) -> pa.Table:
    """Parquet rows -> the NDJSON lines they would be (text, path), so one actor pool reads both."""
    rows = batch.to_pylist()
    paths = [r.pop("path") for r in rows]
    return pa.table({"text": [json.dumps(r) for r in rows], "path": paths})


def read(inputs: tuple[str, ...]) -> ray.data.Dataset:
    """NDJSON (.ndjson, .ndjson.gz) and Parquet as NDJSON lines (Parquet rows serialised), with the file of each
    in a `path` column. Local inputs are expanded as `sketchq score` expands them;
    a URI (s3://...) is an NDJSON file or Parquet."""
    local = [i for i in inputs if "://" not in i]
    files = [i for i in inputs if "://" in i] + ([str(p) for p in expand(local)] if local else [])
    text = [f for f in files if f.endswith((".ndjson", ".ndjson.gz"))]
    other = [f for f in files if f not in text and "://" not in f and not f.endswith(".parquet")]
    if other:
        raise ValueError(f"the Ray job reads NDJSON (.ndjson, .ndjson.gz) and Parquet, not {other[0]}: score "
                         "such files with `sketchq score` on one machine")
    parquet = [f for f in files if f not in text]
    parts = []
    if text:
        parts.append(ray.data.read_text(text, include_paths=True))
    if parquet:
        parts.append(ray.data.read_parquet(parquet, include_paths=True).map_batches(_as_lines, batch_format="pyarrow"))
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def run_ray(opts: RunOptions, out: str | Path, address: str, actors: int, overwrite: bool = False,
            num_cpus: int | None = None, actor_cpus: float = 1.0) -> RunResult:
    """Run the job on the cluster at `address` ('local': a Ray instance started here with num_cpus). Each actor
    reserves `actor_cpus` CPUs: leave some for the read and write tasks (actors x actor_cpus below the cluster's
    CPUs), or the job waits for ever for a CPU to read with."""
    uri = "://" in str(out)  # an object store (s3://, gs://, ...): written and counted through Ray
    if not uri and Path(out).exists() and not overwrite:
        raise FileExistsError(f"{out} exists (a finished run); pass --overwrite to score again")
    started = time.perf_counter()
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, num_cpus=num_cpus if address == "local" else None,
                 include_dashboard=False, log_to_driver=False)
    gpus = ray.cluster_resources().get("GPU", 0) > 0 and opts.engine.device in ("auto", "cuda")
    engine = EngineOptions(opts.engine.model_dir.resolve(), "cuda" if gpus else "cpu", opts.engine.batch_size,
                           opts.engine.intra_op_threads)
    source = read(opts.inputs)
    rows = source.map_batches(ScoreActor, fn_constructor_args=(engine, opts.skip_bad), batch_size=RAY_BATCH,
                              batch_format="pyarrow", concurrency=actors, num_gpus=1 if gpus else 0,
                              num_cpus=actor_cpus)
    try:
        if opts.fmt == "parquet":
            rows.write_parquet(str(out))
        else:
            rows.write_json(str(out))
    except Exception as e:  # Ray wraps the actor's error; its message names the bad record
        raise RuntimeError(f"the Ray job failed: {_cause(e)}") from None
    if uri:
        reread = ray.data.read_parquet(str(out)) if opts.fmt == "parquet" else ray.data.read_json(str(out))
        written = reread.count()
    else:
        written = _count(Path(out), opts.fmt)
    bad = source.filter(lambda r: bool(r["text"].strip())).count() - written if opts.skip_bad else 0
    shard = ShardResult(source=",".join(opts.inputs), rows=written, bad=max(0, bad))
    return RunResult([shard], time.perf_counter() - started)


def _cause(e: BaseException) -> str:
    while e.__cause__ is not None:
        e = e.__cause__
    text = str(e).strip().splitlines()
    return next((t for t in reversed(text) if "malformed record" in t), text[-1] if text else type(e).__name__)


def _count(out: Path, fmt: str) -> int:
    if fmt == "parquet":
        return sum(pq.ParquetFile(f).metadata.num_rows for f in out.glob("*.parquet"))
    return sum(sum(1 for _ in open(f, encoding="utf-8")) for f in out.iterdir() if f.is_file())
