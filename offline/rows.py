"""The output rows: one Arrow schema for every format, and the writers (Parquet by default, or NDJSON).

Columns (one row per drawing):
key_id (the record's key_id, else FILE:LINE), file, line, category (the claimed one, canonical; null when the
record has none), quality (q), quality_percentile (0..1 among validation sketches of the predicted class),
predicted_class, confidence, theta (radians, angle to the claimed category; null without one),
label_suspect (null without a category), label_quality (q cos theta: q along the claimed category's centre,
null without one; the quality as a drawing of that category), verdict (kept / suspect / rejected,
`sketchprep.label_rule`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    ("key_id", pa.string()), ("file", pa.string()), ("line", pa.int64()), ("category", pa.string()),
    ("quality", pa.float64()), ("quality_percentile", pa.float64()), ("predicted_class", pa.string()),
    ("confidence", pa.float64()), ("theta", pa.float64()), ("label_suspect", pa.bool_()),
    ("label_quality", pa.float64()), ("verdict", pa.string()),
])
Format = Literal["parquet", "ndjson"]
READ_BATCH = 8192


def format_of(path: Path) -> Format:
    if path.name.endswith(".parquet"):
        return "parquet"
    if path.name.endswith(".ndjson"):
        return "ndjson"
    raise ValueError(f"{path}: the output must end in .parquet or .ndjson")


class RowWriter:
    """Rows appended in chunks to one file (Parquet row groups, or NDJSON lines); written to FILE.tmp and
    renamed on `close`, so a file that exists is complete."""

    def __init__(self, path: Path, fmt: Format) -> None:
        self.path, self.fmt = path, fmt
        self.tmp = path.with_name(path.name + ".tmp")
        self.rows = 0
        self._pq = pq.ParquetWriter(self.tmp, SCHEMA) if fmt == "parquet" else None
        self._fh = open(self.tmp, "w", encoding="utf-8") if fmt == "ndjson" else None  # noqa: SIM115 (closed in close/abort)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._pq is not None:
            self._pq.write_table(pa.Table.from_pylist(list(rows), schema=SCHEMA))
        else:
            assert self._fh is not None
            self._fh.writelines(json.dumps(r, allow_nan=False) + "\n" for r in rows)
        self.rows += len(rows)

    def write_table(self, table: pa.Table) -> None:
        if self._pq is None:
            self.write(table.to_pylist())
            return
        self._pq.write_table(table)
        self.rows += table.num_rows

    def close(self) -> Path:
        if self._pq is not None:
            self._pq.close()
        if self._fh is not None:
            self._fh.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._fh is not None:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)


def read_tables(path: Path, fmt: Format) -> Iterator[pa.Table]:
    """A file of rows back as Arrow tables of at most READ_BATCH rows (constant memory)."""
    if fmt == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH, columns=SCHEMA.names):
            yield pa.Table.from_batches([batch], schema=SCHEMA)
        return
    chunk: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for text in fh:
            chunk.append(json.loads(text))
            if len(chunk) == READ_BATCH:
                yield pa.Table.from_pylist(chunk, schema=SCHEMA)
                chunk = []
    if chunk:
        yield pa.Table.from_pylist(chunk, schema=SCHEMA)


def concatenate(parts: Iterable[Path], out: Path, fmt: Format) -> int:
    """Parts (rows in the same format) -> one file, streamed; returns the rows written."""
    writer = RowWriter(out, fmt)
    try:
        for part in parts:
            for table in read_tables(part, fmt):
                writer.write_table(table)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return writer.rows
