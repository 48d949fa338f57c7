"""One shard (an input file) scored into a part file of rows and a summary sidecar, resumably.

Parts live in `OUT.parts/` (score) or `DIR/parts/` (clean): `<hash of the input's absolute path>-<name>.<fmt>`
and, written last, `<...>.json` with the shard's counts and summary: a shard whose .json exists is finished and
a rerun skips it; a part without its .json (the run was stopped) is redone from the start.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.inputs import category_check, read_shard
from offline.records import BadRecord, BadRecordError, Drawing
from offline.rows import Format, RowWriter
from offline.scoring import OfflineScorer
from offline.summary import Summary

BAD_EXAMPLES = 5  # bad records named per shard in the final message


@dataclass
class ShardResult:
    source: str
    rows: int = 0
    bad: int = 0
    bad_examples: list[str] = field(default_factory=list)
    resumed: bool = False
    summary: dict[str, Any] = field(default_factory=dict)


def part_paths(source: Path, parts_dir: Path, fmt: Format) -> tuple[Path, Path]:
    """The part file and its sidecar for one input file."""
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]
    stem = f"{digest}-{source.name}"
    return parts_dir / f"{stem}.{fmt}", parts_dir / f"{stem}.json"


def finished(source: Path, parts_dir: Path, fmt: Format) -> ShardResult | None:
    """The result of a shard an earlier run finished, or None."""
    _, meta = part_paths(source, parts_dir, fmt)
    if not meta.exists():
        return None
    result = ShardResult(**json.loads(meta.read_text()))
    result.resumed = True
    return result


def summary_of(source: Path, parts_dir: Path, fmt: Format) -> dict[str, Any]:
    """A finished shard's summary, read back from its sidecar (run_shards does not keep them in memory: with
    the drawings of its galleries, a summary is about a megabyte, and a run may have thousands of shards)."""
    result = finished(source, parts_dir, fmt)
    if result is None:
        raise FileNotFoundError(f"{source}: the shard is not finished in {parts_dir}")
    return result.summary


def score_shard(source: Path, parts_dir: Path, fmt: Format, scorer: OfflineScorer, skip_bad: bool, chunk: int,
                progress: Callable[[int], None]) -> ShardResult:
    """Score every drawing of `source` in chunks of `chunk` drawings into its part; BadRecordError on a bad
    record unless skip_bad (then counted). `progress(n)` is told of every n drawings done."""
    part, meta = part_paths(source, parts_dir, fmt)
    known = category_check(scorer.classes)
    result = ShardResult(str(source))
    summary = Summary.for_shard(str(source))
    writer = RowWriter(part, fmt)
    pending: list[Drawing] = []

    def flush() -> None:
        rows = scorer.score(pending)
        for d, row in zip(pending, rows, strict=True):
            summary.add(d, row)
        writer.write(rows)
        result.rows += len(rows)
        progress(len(rows))
        pending.clear()

    try:
        for item in read_shard(source, known):
            if isinstance(item, BadRecord):
                if not skip_bad:
                    raise BadRecordError(item)
                result.bad += 1
                if len(result.bad_examples) < BAD_EXAMPLES:
                    result.bad_examples.append(str(item))
                continue
            pending.append(item)
            if len(pending) >= chunk:
                flush()
        if pending:
            flush()
    except BaseException:
        writer.abort()
        raise
    writer.close()
    result.summary = summary.to_json()
    tmp = meta.with_name(meta.name + ".tmp")
    tmp.write_text(json.dumps({k: v for k, v in result.__dict__.items() if k != "resumed"}))
    os.replace(tmp, meta)  # the shard counts as finished only now
    return result
