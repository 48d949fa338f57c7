"""Sketch-RNN data: stroke-5 conversion round trip on real sketches, the scorer's split, batches, resume order."""


import numpy as np
import pytest

from sketchprep.split import split_of
from sketchprep.stroke5 import EOS_ROW, pad_batch, stroke5_length, stroke5_to_strokes, strokes_to_stroke5
from training.sketchrnn.data import epoch_batches, load_stroke5_splits, offset_std, training_batches


@pytest.fixture(scope="module")
def real_records(read_real):
    return read_real(("cat", "monkey", "alarm_clock", "triangle"), 60)


def test_stroke5_round_trip_on_real_sketches(real_records):
    for r in real_records:
        strokes = list(r.strokes)
        while len(strokes) > 1 and len(strokes[0]) == 1:  # a leading dot cannot be represented: dropped
            strokes = strokes[1:]
        rows = strokes_to_stroke5(r.strokes)
        assert rows.dtype == np.float32 and rows.shape == (sum(len(s) for s in strokes) - 1, 5)
        assert np.all(rows[:, 2:5].sum(1) == 1) and np.all(rows[:, 4] == 0)  # pen down or up, never end
        assert rows[-1, 3] == 1  # the last point ends its stroke
        back = stroke5_to_strokes(rows)
        origin = strokes[0][0]
        assert len(back) == len(strokes)
        for a, b in zip(back, strokes, strict=True):
            np.testing.assert_allclose(a, b - origin, atol=1e-9)


def test_stroke5_to_strokes_stops_at_the_first_end_row():
    rows = np.array([[3, 0, 1, 0, 0], [0, 4, 0, 1, 0], [5, 5, 1, 0, 0], [1, 1, 0, 1, 0], [9, 9, 0, 0, 1],
                     [7, 7, 1, 0, 0]], dtype=np.float32)
    assert stroke5_length(rows) == 4
    strokes = stroke5_to_strokes(rows)
    assert [s.tolist() for s in strokes] == [[[0, 0], [3, 0], [3, 4]], [[8, 9], [9, 10]]]
    assert stroke5_to_strokes(rows[:0])[0].tolist() == [[0.0, 0.0]]  # no rows: the origin alone


def test_splits_are_the_scorers_and_long_sketches_are_dropped(synthetic_folder, classes):
    _, sets, counts = load_stroke5_splits([synthetic_folder], classes, max_seq_len=20, keep_records=True)
    assert counts["too_long"] > 0  # circles of up to 29 points do not fit 20 rows
    assert counts["train"] + counts["val"] + counts["test"] + counts["too_long"] == counts["read"] == 360
    for split, data in sets.items():
        assert all(split_of(r.strokes) == split for r in data.records)
        assert all(1 <= len(s) <= 20 for s in data.items)
    assert 5.0 < offset_std(sets["train"]) < 100.0


def test_pad_batch_and_deterministic_epoch_order():
    x, lens = pad_batch([np.ones((3, 5), np.float32), np.ones((1, 5), np.float32)], 4)
    assert x.shape == (2, 4, 5) and lens.tolist() == [3, 1]
    np.testing.assert_array_equal(x[1, 1:], np.tile(EOS_ROW, (3, 1)))
    lengths = np.arange(1000) % 37 + 1
    a = epoch_batches(lengths, 10, seed=0, epoch=3, bucket_batches=5)
    assert all(len(b) == 10 for b in a) and len(a) == 100
    assert [b.tolist() for b in a] == [b.tolist() for b in epoch_batches(lengths, 10, 0, 3, 5)]
    assert a[0].tolist() != epoch_batches(lengths, 10, 0, 4, 5)[0].tolist()
    spread = np.mean([np.ptp(lengths[b]) for b in a])
    assert spread < np.mean([np.ptp(lengths[b]) for b in epoch_batches(lengths, 10, 0, 3, 1)]) / 3  # bucketed


def test_training_batches_resume_at_any_step(synthetic_folder, classes):
    _, sets, _ = load_stroke5_splits([synthetic_folder], classes, max_seq_len=40)
    full = training_batches(sets["train"], 16, 40, "batch", 4, 0.15, seed=1, start_step=0)
    seen = [next(full) for _ in range(25)]
    resumed = training_batches(sets["train"], 16, 40, "batch", 4, 0.15, seed=1, start_step=20)
    for step, x, lens, y in (next(resumed) for _ in range(5)):
        _, x0, lens0, y0 = seen[step]
        assert np.array_equal(x.numpy(), x0.numpy()) and lens.equal(lens0) and y.equal(y0)
        assert x.shape[1] == int(lens.max()) + 1  # every sketch keeps at least one end row
    _, x, _, _ = next(training_batches(sets["train"], 16, 40, "max_seq_len", 1, 0.0, 1, 0))
    assert x.shape[1] == 41
