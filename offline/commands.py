"""`sketchq score` and `sketchq clean` after their shards are scored: parts -> the outputs, and the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.compute as pc

from offline.report import render
from offline.rows import Format, RowWriter, concatenate, format_of, read_tables
from offline.run import RunOptions, RunResult, run_shards
from offline.shards import part_paths, summary_of
from offline.summary import Summary
from sketchprep.card import ModelCard
from sketchprep.label_rule import VERDICTS


class OutputExistsError(ValueError):
    """The output is there already (a finished run); --overwrite replaces it."""


def _parts(result: RunResult, parts_dir: Path, fmt: Format) -> list[Path]:
    return [part_paths(Path(s.source), parts_dir, fmt)[0] for s in result.shards]


def score(opts: RunOptions, out: Path, overwrite: bool = False) -> RunResult:
    """Every drawing of the inputs -> one row each in `out` (.parquet or .ndjson). An interrupted run leaves
    `OUT.parts/`; running the same command again skips the files finished there."""
    if format_of(out) != opts.fmt:
        raise ValueError(f"{out}: the output's suffix must match the format {opts.fmt}")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists (a finished run); pass --overwrite to score again")
    parts_dir = out.with_name(out.name + ".parts")
    result = run_shards(opts, parts_dir)
    concatenate(_parts(result, parts_dir, opts.fmt), out, opts.fmt)
    shutil.rmtree(parts_dir)
    return result


def clean(opts: RunOptions, out_dir: Path, overwrite: bool = False) -> RunResult:
    """Score, then split the rows by verdict into OUT/kept.*, OUT/suspect.*, OUT/rejected.*, and write
    OUT/report.html. Resumable like `score` (OUT/parts/)."""
    fmt = opts.fmt
    outputs = {v: out_dir / f"{v}.{fmt}" for v in VERDICTS}
    report = out_dir / "report.html"
    if report.exists() and not overwrite:
        raise OutputExistsError(f"{report} exists (a finished run); pass --overwrite to clean again")
    card = ModelCard.load(opts.engine.model_dir)
    parts_dir = out_dir / "parts"
    result = run_shards(opts, parts_dir)
    writers = {v: RowWriter(p, fmt) for v, p in outputs.items()}
    try:
        for part in _parts(result, parts_dir, fmt):
            for table in read_tables(part, fmt):
                for v, w in writers.items():
                    w.write_table(table.filter(pc.equal(table["verdict"], v)))
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    for w in writers.values():
        w.close()
    summary = Summary()
    for s in result.shards:  # one shard's summary in memory at a time, merged in input order
        summary.merge(Summary.from_json(summary_of(Path(s.source), parts_dir, fmt)))
    tmp = report.with_name(report.name + ".tmp")
    tmp.write_text(render(summary, card.thresholds.label_check, f"{card.name} {card.version}", list(opts.inputs)))
    tmp.replace(report)
    shutil.rmtree(parts_dir)
    return result
