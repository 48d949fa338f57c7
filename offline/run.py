"""All shards of a run: finished ones skipped (resume), the rest scored in this process (`workers=1`) or in N
worker processes (each with its own ONNX Runtime session), with a progress bar of drawings and their rate."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from offline.inputs import expand
from offline.rows import Format
from offline.scoring import EngineOptions, OfflineScorer
from offline.shards import ShardResult, finished, score_shard


@dataclass(frozen=True)
class RunOptions:
    """One `sketchq score` / `sketchq clean` run (typed; built by offline.cli)."""

    inputs: tuple[str, ...]
    fmt: Format
    engine: EngineOptions
    workers: int = 1
    skip_bad: bool = False
    chunk: int = 2048  # drawings preprocessed and scored together (memory: a few MB)
    progress: bool = True


@dataclass
class RunResult:
    shards: list[ShardResult]  # in input order
    seconds: float

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def bad(self) -> int:
        return sum(s.bad for s in self.shards)

    def message(self, verb: str) -> str:
        new = sum(s.rows for s in self.shards if not s.resumed)
        resumed = sum(1 for s in self.shards if s.resumed)
        rate = new / self.seconds if self.seconds > 0 else 0.0
        text = (f"{verb} {self.rows} drawings from {len(self.shards)} files ({resumed} finished earlier, skipped) "
                f"in {self.seconds:.1f} s, {rate:.0f} drawings/s")
        if self.bad:
            examples = [e for s in self.shards for e in s.bad_examples][:10]
            text += f"; skipped {self.bad} bad records, e.g.:\n  " + "\n  ".join(examples)
        return text


_worker: dict[str, Any] = {}


def _init_worker(engine: EngineOptions, queue: Any) -> None:
    _worker["scorer"] = OfflineScorer(engine)
    _worker["queue"] = queue


def _score_in_worker(job: tuple[Path, Path, Format, bool, int]) -> ShardResult:
    source, parts_dir, fmt, skip_bad, chunk = job
    return score_shard(source, parts_dir, fmt, _worker["scorer"], skip_bad, chunk, _worker["queue"].put)


def run_shards(opts: RunOptions, parts_dir: Path) -> RunResult:
    """Score every input file not finished in `parts_dir` yet; results in input order."""
    sources = expand(opts.inputs)
    parts_dir.mkdir(parents=True, exist_ok=True)
    done = {s: r for s in sources if (r := finished(s, parts_dir, opts.fmt)) is not None}
    todo = [s for s in sources if s not in done]
    started = time.perf_counter()
    bar = tqdm(desc="scoring", unit=" drawings", disable=not opts.progress, smoothing=0.1, dynamic_ncols=True)
    bar.set_postfix_str(f"files {len(done)}/{len(sources)}")
    results: dict[Path, ShardResult] = {}
    for r in done.values():
        r.summary = {}
        results[Path(r.source)] = r

    def finish(r: ShardResult) -> None:
        r.summary = {}  # on disk in the shard's sidecar (offline.shards.summary_of): memory stays flat in files too
        results[Path(r.source)] = r
        bar.set_postfix_str(f"files {len(results)}/{len(sources)}")

    try:
        if todo and opts.workers <= 1:
            scorer = OfflineScorer(opts.engine)
            for s in todo:
                finish(score_shard(s, parts_dir, opts.fmt, scorer, opts.skip_bad, opts.chunk, bar.update))
        elif todo:
            _in_pool(opts, parts_dir, todo, bar.update, finish)
    finally:
        bar.close()
    return RunResult([results[s] for s in sources], time.perf_counter() - started)


def _in_pool(opts: RunOptions, parts_dir: Path, todo: list[Path], progress: Callable[[int], None],
             finish: Callable[[ShardResult], None]) -> None:
    ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no ORT state crosses a fork
    queue = ctx.Queue()

    def relay() -> None:  # worker progress -> the bar, until the sentinel
        while (n := queue.get()) is not None:
            progress(n)

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    jobs = [(s, parts_dir, opts.fmt, opts.skip_bad, opts.chunk) for s in todo]
    try:
        with ctx.Pool(min(opts.workers, len(todo)), _init_worker, (opts.engine, queue)) as pool:
            for r in pool.imap_unordered(_score_in_worker, jobs):
                finish(r)
            pool.close()
            pool.join()  # workers exit normally, so their last progress messages are flushed
    finally:
        queue.put(None)
        relay_thread.join()
