"""Readers for the sketch files people have. Each yields `SketchRecord`s with absolute strokes.

- Quick, Draw! simplified NDJSON (plain or .gz): `drawing` = [[xs, ys], ...], integers 0..255.
- Quick, Draw! raw NDJSON: `drawing` = [[xs, ys, ts], ...]; reduced to the simplified frame with Google's
  documented steps (align to top-left, scale the longest side to 255, resample at 1 px, RDP epsilon 2.0,
  round to integers).
- Sketch-RNN `.npz`: stroke-3 arrays under keys train / valid / test; the category is the file name.
  These files are pickled object arrays, so they are opened with allow_pickle: read only files you trust.
- Quick, Draw! binary `.bin`: little-endian records of key_id u64, countrycode 2 bytes, recognized u8,
  timestamp u32, n_strokes u16, then per stroke n_points u16, x u8[n], y u8[n].
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydantic_core

from sketchprep.rdp import rdp
from sketchprep.strokes import FlatSketch, Sketch, flat_from_drawing, stroke3_to_strokes

SUFFIXES = (".ndjson", ".ndjson.gz", ".npz", ".bin")


@dataclass
class SketchRecord:
    category: str  # canonical: lower case, spaces as underscores ("alarm_clock")
    strokes: Sketch
    recognized: bool | None = None
    key_id: str | None = None
    countrycode: str | None = None
    source: str | None = None
    split: str | None = None  # the file's own split (npz keys), if any
    flat: FlatSketch | None = field(default=None, repr=False, compare=False)
    """the same points as one array, when the reader built one (the strokes are views into it)"""


def canonical_category(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def category_from_path(path: Path) -> str:
    name = path.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    # Google's Sketch-RNN files of every drawing are `cat.full.npz`: the category is `cat`
    name = name.removesuffix(".full")
    return canonical_category(name.removeprefix("full_simplified_").removeprefix("full_raw_"))


def resample_stroke(points: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Points (N, 2) resampled along the polyline every `spacing` units, end points kept."""
    if len(points) < 2:
        return points
    seg = np.hypot(*np.diff(points, axis=0).T)  # (N-1,)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    total = arc[-1]
    if total == 0.0:
        return points[:1]
    at = np.append(np.arange(0.0, total, spacing), total)
    return np.stack([np.interp(at, arc, points[:, 0]), np.interp(at, arc, points[:, 1])], axis=1)


def raw_to_simplified(strokes: Sketch) -> Sketch:
    """Google's simplification of a raw drawing to the 0..255 simplified frame."""
    strokes = [s for s in strokes if len(s) > 0]
    xy = np.concatenate(strokes, axis=0)
    lo = xy.min(axis=0)
    extent = float((xy.max(axis=0) - lo).max())
    scale = 255.0 / extent if extent > 0 else 1.0
    out = []
    for s in strokes:
        s = resample_stroke((s - lo) * scale, 1.0)
        out.append(np.round(rdp(s, 2.0)))
    return out


def record_from_json(rec: dict, path: Path) -> SketchRecord:
    """One Quick, Draw! NDJSON object -> a record (raw drawings, strokes with a time row, are simplified); the
    category is `word`, else the file's name. KeyError, TypeError or ValueError when it is not such a record."""
    drawing = rec["drawing"]
    flat: FlatSketch | None = flat_from_drawing(drawing)
    strokes = flat.strokes()
    if 3 in map(len, drawing):
        strokes, flat = raw_to_simplified(strokes), None
    word = rec.get("word")
    return SketchRecord(
        category=canonical_category(word) if word else category_from_path(path),
        strokes=strokes,
        flat=flat,
        recognized=rec.get("recognized"),
        key_id=None if rec.get("key_id") is None else str(rec["key_id"]),
        countrycode=rec.get("countrycode"),
        source=rec.get("source"),
    )


def decode_json(line: str | bytes) -> object:
    """One JSON text -> Python objects, as `json.loads` gives them (NaN and Infinity accepted, so a record
    with a non-finite coordinate reaches the checks that name it; big integers kept), with pydantic-core's
    parser (Rust; 1.7x faster than the standard library on Quick, Draw! lines). ValueError when it is not
    JSON."""
    return pydantic_core.from_json(line, allow_inf_nan=True)


def open_text(path: Path) -> io.TextIOBase:
    """A text file, gunzipped when its name ends in .gz."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_ndjson(path: Path) -> Iterator[SketchRecord]:
    """Simplified or raw Quick, Draw! NDJSON; raw drawings (strokes with a time row) are simplified."""
    with open_text(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            yield record_from_json(decode_json(line), path)


def read_npz(path: Path, splits: Iterable[str] = ("train", "valid", "test")) -> Iterator[SketchRecord]:
    category = category_from_path(path)
    with np.load(path, allow_pickle=True, encoding="latin1") as data:
        for split in splits:
            if split not in data.files:
                continue
            for arr in data[split]:
                yield SketchRecord(category=category, strokes=stroke3_to_strokes(arr), split=split)


_BIN_HEADER = struct.Struct("<Q2sBIH")


def _read_exactly(fh: io.BufferedIOBase, n: int, path: Path) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise ValueError(f"{path}: truncated binary record (wanted {n} bytes, found {len(data)})")
    return data


def read_bin(path: Path) -> Iterator[SketchRecord]:
    """Google's binary format, read record by record (constant memory); ValueError on a truncated record."""
    category = category_from_path(path)
    with open(path, "rb") as fh:
        while header := fh.read(_BIN_HEADER.size):
            if len(header) != _BIN_HEADER.size:
                raise ValueError(f"{path}: truncated binary record header")
            key_id, country, recognized, _timestamp, n_strokes = _BIN_HEADER.unpack(header)
            strokes = []
            for _ in range(n_strokes):
                (n,) = struct.unpack("<H", _read_exactly(fh, 2, path))
                xy = np.frombuffer(_read_exactly(fh, 2 * n, path), dtype=np.uint8).astype(np.float64)  # (2n,)
                strokes.append(np.stack([xy[:n], xy[n:]], axis=1))  # (n, 2)
            yield SketchRecord(category=category, strokes=strokes, recognized=bool(recognized),
                               key_id=str(key_id), countrycode=country.decode("ascii", "replace"))


def write_bin(records: Iterable[SketchRecord], path: Path) -> None:
    """Write records in Google's binary format (coordinates must be integers 0..255)."""
    with open(path, "wb") as fh:
        for r in records:
            fh.write(_BIN_HEADER.pack(int(r.key_id or 0), (r.countrycode or "ZZ").encode()[:2].ljust(2),
                                      int(bool(r.recognized)), 0, len(r.strokes)))
            for s in r.strokes:
                xy = np.asarray(s).astype(np.uint8)
                fh.write(struct.pack("<H", len(xy)) + xy[:, 0].tobytes() + xy[:, 1].tobytes())


def read_file(path: Path) -> Iterator[SketchRecord]:
    name = path.name
    if name.endswith((".ndjson", ".ndjson.gz")):
        return read_ndjson(path)
    if name.endswith(".npz"):
        return read_npz(path)
    if name.endswith(".bin"):
        return read_bin(path)
    raise ValueError(f"unknown sketch file type: {path} (expected one of {', '.join(SUFFIXES)})")


def find_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand folders into their sketch files (sorted); files are taken as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.name.endswith(SUFFIXES)))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(p)
    return out


def read_records(paths: Iterable[Path | str], categories: Iterable[str] | None = None) -> Iterator[SketchRecord]:
    """All records in the given files/folders, optionally only the given categories (skips other files)."""
    wanted = None if categories is None else {canonical_category(c) for c in categories}
    for f in find_files(paths):
        if wanted is not None and category_from_path(f) not in wanted:
            continue
        for rec in read_file(f):
            if wanted is None or rec.category in wanted:
                yield rec
