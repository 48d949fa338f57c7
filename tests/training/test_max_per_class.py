"""Training reads as a stream: --max-per-class keeps a seeded uniform sample per category and split."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

from sketchprep.formats import read_records
from sketchprep.split import split_of
from training.cli import parse
from training.data.splits import read_classes, sample_per_class

CATS = ["triangle", "square", "swan"]


def _key(r) -> tuple:
    return (r.category, r.key_id, tuple(map(len, r.strokes)))


def test_the_sample_is_capped_per_category_and_split(data_dir: Path) -> None:
    full = list(read_records([data_dir], CATS))
    classes, sample = read_classes([data_dir], CATS, max_per_class=80, seed=1)
    assert classes == CATS
    counts = Counter((split_of(r.strokes), r.category) for r in sample)
    available = Counter((split_of(r.strokes), r.category) for r in full)
    for key, n in available.items():
        cap = 80 if key[0] == "train" else 10
        assert counts[key] == min(cap, n), key
    assert {_key(r) for r in sample} <= {_key(r) for r in full}
    _, again = read_classes([data_dir], CATS, max_per_class=80, seed=1)
    _, other = read_classes([data_dir], CATS, max_per_class=80, seed=2)
    assert [_key(r) for r in again] == [_key(r) for r in sample]
    assert {_key(r) for r in other} != {_key(r) for r in sample}


def test_a_long_stream_keeps_only_the_sample(data_dir: Path) -> None:
    real = list(read_records([data_dir], ["triangle"]))
    stream = itertools.islice(itertools.cycle(real), 50_000)  # a generator: no length, read once
    kept = sample_per_class(stream, 40)
    assert len(kept) <= 40 + 5 + 5
    assert Counter(split_of(r.strokes) for r in kept)["train"] == 40


def test_the_option_is_on_the_command_line() -> None:
    cfg = parse(["train", "--out", "runs/x", "--max-per-class", "7000"])
    assert cfg.max_per_class == 7000
    assert parse(["train", "--out", "runs/x"]).max_per_class is None
