import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from sketchprep.formats import (
    SketchRecord,
    category_from_path,
    raw_to_simplified,
    read_bin,
    read_file,
    read_records,
    write_bin,
)
from sketchprep.strokes import strokes_to_stroke3


def test_reads_the_shared_simplified_gz_files(data_dir):
    path = data_dir / "triangle.ndjson.gz"
    if not path.exists():
        pytest.skip("shared data absent")
    with gzip.open(path, "rt") as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    recs = list(read_file(path))
    assert len(recs) == len(lines)
    assert {r.category for r in recs} == {"triangle"}
    first = lines[0]["drawing"]
    assert recs[0].strokes[0][:, 0].tolist() == first[0][0]
    assert recs[0].strokes[0][:, 1].tolist() == first[0][1]
    assert recs[0].recognized == lines[0]["recognized"]


def test_plain_ndjson_and_category_canonicalisation(tmp_path):
    p = tmp_path / "alarm clock.ndjson"
    p.write_text(json.dumps({"word": "alarm clock", "drawing": [[[0, 10], [0, 5]]], "recognized": False}) + "\n\n")
    (rec,) = read_records([tmp_path])
    assert rec.category == "alarm_clock" and rec.recognized is False
    assert category_from_path(p) == "alarm_clock"
    assert list(read_records([tmp_path], categories=["cat"])) == []


def test_raw_drawing_is_reduced_to_the_simplified_frame(tmp_path):
    rng = np.random.default_rng(0)
    # a wobbly raw line from (1000, 2000) to (1600, 2300) with times, plus a second short stroke
    t = np.linspace(0, 1, 300)
    xs = 1000 + 600 * t + rng.normal(0, 0.2, 300)
    ys = 2000 + 300 * t + rng.normal(0, 0.2, 300)
    raw = {"word": "line", "drawing": [[xs.tolist(), ys.tolist(), (t * 1000).tolist()],
                                       [[1000, 1010], [2300, 2290], [0, 5]]]}
    p = tmp_path / "line.ndjson"
    p.write_text(json.dumps(raw) + "\n")
    (rec,) = read_records([p])
    xy = np.concatenate(rec.strokes)
    assert np.array_equal(xy, np.round(xy))  # integers
    assert xy.min() >= 0 and xy.max() <= 255
    assert xy.max(axis=0).max() == 255  # longest side scaled to 255
    assert len(rec.strokes[0]) <= 4  # an almost straight line keeps a handful of points after RDP(2.0)


def test_raw_to_simplified_keeps_shape_within_epsilon():
    t = np.linspace(0, 2 * np.pi, 400)
    circle = np.stack([50 * np.cos(t), 50 * np.sin(t)], axis=1)
    (simple,) = raw_to_simplified([circle])
    assert 8 <= len(simple) < 100
    # RDP keeps original (resampled) points: after scaling to 0..255 they lie on the circle of radius
    # 127.5 about (127.5, 127.5), up to rounding to integers (<= 0.71) and the 1 px resampling chords
    r = np.hypot(*(simple - 127.5).T)
    assert np.abs(r - 127.5).max() < 1.0


def test_npz_stroke3_splits(tmp_path):
    s1 = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 1], [5, 5, 0], [1, 1, 1]], dtype=np.int16)
    s2 = strokes_to_stroke3([np.array([[3.0, 4.0], [6.0, 8.0]])])
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = s1, s2
    p = tmp_path / "sketchrnn_cat.npz"
    np.savez(p, train=arr, valid=arr[:1], test=arr[1:])
    recs = list(read_file(p))
    assert [r.split for r in recs] == ["train", "train", "valid", "test"]
    assert recs[0].category == "sketchrnn_cat"
    first = recs[0].strokes
    assert len(first) == 2
    assert first[0].tolist() == [[0, 0], [10, 0], [10, 10]]
    assert first[1].tolist() == [[15, 15], [16, 16]]
    assert recs[1].strokes[0].tolist() == [[3, 4], [6, 8]]


def test_binary_format_hand_packed(tmp_path):
    # Google's documented layout, packed here by hand (independently of write_bin)
    body = struct.pack("<Q2sBIH", 5201136883597312, b"US", 1, 1490000000, 2)
    body += struct.pack("<H", 3) + bytes([0, 100, 255]) + bytes([5, 6, 7])
    body += struct.pack("<H", 1) + bytes([9]) + bytes([10])
    body += struct.pack("<Q2sBIH", 42, b"DE", 0, 0, 1) + struct.pack("<H", 2) + bytes([1, 2, 3, 4])
    p = tmp_path / "full_binary_cat.bin"
    p.write_bytes(body)
    a, b = read_bin(p)
    assert a.key_id == "5201136883597312" and a.countrycode == "US" and a.recognized is True
    assert a.strokes[0].tolist() == [[0, 5], [100, 6], [255, 7]]
    assert a.strokes[1].tolist() == [[9, 10]]
    assert b.recognized is False and b.strokes[0].tolist() == [[1, 3], [2, 4]]


def test_binary_round_trip(tmp_path):
    recs = [SketchRecord("cat", [np.array([[1.0, 2.0], [3.0, 4.0]])], True, "7", "FR")]
    p = tmp_path / "cat.bin"
    write_bin(recs, p)
    (back,) = read_bin(p)
    assert back.strokes[0].tolist() == [[1, 2], [3, 4]] and back.countrycode == "FR"


def test_unknown_file_type_is_refused(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a")
    with pytest.raises(ValueError, match="unknown sketch file type"):
        read_file(p)


@pytest.mark.parametrize("name", ["cat.full.npz", "cat.npz", "cat.ndjson.gz", "full_simplified_cat.ndjson",
                                  "full_raw_cat.ndjson", "cat.bin"])
def test_google_file_names_give_the_category(name: str) -> None:
    assert category_from_path(Path("/data") / name) == "cat"


def test_a_full_npz_is_read_as_its_category(tmp_path: Path) -> None:
    sketch = np.array([[0, 0, 0], [10, 5, 1]], dtype=np.int16)  # stroke-3: dx, dy, pen lifted
    np.savez(tmp_path / "cat.full.npz", train=np.array([sketch], dtype=object), allow_pickle=True)
    (rec,) = read_records([tmp_path])
    assert rec.category == "cat" and rec.split == "train"
