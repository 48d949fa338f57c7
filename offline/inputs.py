"""Inputs -> shards -> drawings, as a stream (one record in memory at a time, one Arrow batch for Parquet).

An input is a folder (its sketch files, recursively, sorted), a glob (`data/*.ndjson.gz`, `**` allowed), or a
file: Quick, Draw! NDJSON (plain or .gz, simplified or raw), Sketch-RNN .npz (also Google's `cat.full.npz`),
Google's .bin, or Parquet with a `drawing` column (Quick, Draw! strokes) and optional `word`/`category` and
`key_id` columns. Each file is one shard: the unit of resumption and of work for `--workers`.

Parsing is sketchprep's (`record_from_json`, `read_npz`, `read_bin`, `category_from_path`); here a record that
cannot be read becomes a `BadRecord` with its file and line instead of an exception, so the caller can stop
with that message or skip and count it. A claimed category the model does not know is a bad record too; a
record without `word` (or `category`) claims none and is scored without a label check.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from offline.records import BadRecord, Drawing, sketch_problem
from sketchprep.formats import (
    SUFFIXES,
    SketchRecord,
    canonical_category,
    decode_json,
    open_text,
    read_bin,
    read_npz,
    record_from_json,
)

INPUT_SUFFIXES = (*SUFFIXES, ".parquet")
PARQUET_BATCH = 1024  # rows decoded at a time
Item = Drawing | BadRecord


class InputError(ValueError):
    """An input that names nothing readable (no such file, a glob that matches nothing, an unknown type)."""


def expand(inputs: Iterable[str]) -> list[Path]:
    """Folders, globs and files -> the sketch files, in order, each once."""
    out: list[Path] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(INPUT_SUFFIXES))
            if not found:
                raise InputError(f"{text}: the folder holds no sketch file ({', '.join(INPUT_SUFFIXES)})")
        elif p.is_file():
            if not p.name.endswith(INPUT_SUFFIXES):
                raise InputError(f"{text}: unknown file type (expected one of {', '.join(INPUT_SUFFIXES)})")
            found = [p]
        elif glob.has_magic(text):
            found = sorted(Path(f) for f in glob.glob(text, recursive=True) if f.endswith(INPUT_SUFFIXES))
            if not found:
                raise InputError(f"{text}: the pattern matches no sketch file")
        else:
            raise InputError(f"{text}: no such file or folder")
        out.extend(found)
    return list(dict.fromkeys(out))


def _drawing(rec: SketchRecord, file: str, line: int, known: Callable[[str], bool]) -> Item:
    sketch, problem = sketch_problem(rec.strokes, rec.flat)
    if sketch is None:
        return BadRecord(file, line, str(problem))
    if rec.category and not known(rec.category):
        return BadRecord(file, line, f"unknown category {rec.category!r} (the model knows other classes; .npz and "
                                     ".bin files take it from the file name)")
    return Drawing(rec.key_id or f"{file}:{line}", file, line, rec.category or None, sketch)


def from_object(obj: Any, path: Path, line: int, known: Callable[[str], bool]) -> Item:
    """One decoded NDJSON object or Parquet row -> a drawing, or a bad record saying what is wrong."""
    file = str(path)
    if not isinstance(obj, dict):
        return BadRecord(file, line, f"expected a JSON object, got {type(obj).__name__}")
    if "word" not in obj and obj.get("category") is not None:
        obj = {**obj, "word": obj["category"]}
    if "drawing" not in obj:
        return BadRecord(file, line, "no `drawing` field")
    try:
        rec = record_from_json(obj, path)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        return BadRecord(file, line, f"the drawing is not Quick, Draw! strokes [[xs, ys], ...] ({e})")
    if not obj.get("word"):
        rec.category = ""  # no claimed category (not the file's name): scored without a label check
    return _drawing(rec, file, line, known)


def _ndjson(path: Path, known: Callable[[str], bool]) -> Iterator[Item]:
    with open_text(path) as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                obj = decode_json(text)
            except ValueError as e:
                yield BadRecord(str(path), line, f"bad JSON ({e})")
                continue
            yield from_object(obj, path, line, known)


def _parquet(path: Path, known: Callable[[str], bool]) -> Iterator[Item]:
    import pyarrow.parquet as pq

    line = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH):
        for row in batch.to_pylist():
            line += 1
            yield from_object(row, path, line, known)


def _records(reader: Iterator[SketchRecord], path: Path, known: Callable[[str], bool]) -> Iterator[Item]:
    line = 0
    try:
        for line, rec in enumerate(reader, start=1):  # noqa: B007 (line is read after the loop)
            yield _drawing(rec, str(path), line, known)
    except (ValueError, OSError) as e:  # a truncated .bin or a damaged .npz: the rest of the file is lost
        yield BadRecord(str(path), line + 1, f"cannot read further ({e})")


def read_shard(path: Path, known: Callable[[str], bool]) -> Iterator[Item]:
    """The drawings (and bad records) of one input file, in file order."""
    name = path.name
    if name.endswith(".parquet"):
        return _parquet(path, known)
    if name.endswith(".npz"):
        return _records(read_npz(path), path, known)
    if name.endswith(".bin"):
        return _records(read_bin(path), path, known)
    return _ndjson(path, known)


def category_check(classes: Iterable[str]) -> Callable[[str], bool]:
    """A predicate: is this (canonical) category one of the model's classes?"""
    known = {canonical_category(c) for c in classes}
    return known.__contains__
