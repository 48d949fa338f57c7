"""All shards of a run: finished ones skipped (resume), the rest scored in this process (`workers=1`) or in N
worker processes (each with its own ONNX Runtime session), with a progress bar of drawings and their rate."""

from __future__ import annotations

import multiprocessing as mp
import queue
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


class _Stopped(Exception):
    """A child failed while this process scored: stop at the next chunk."""


def _score_jobs(scorer: OfflineScorer, jobs: Any, progress: Callable[[int], None],
                done: Callable[[ShardResult], None]) -> None:
    """Take jobs (source, parts folder, format, skip_bad, chunk) from the shared queue and score them until the
    end mark (None), which is put back for the next process to see."""
    while (job := jobs.get()) is not None:
        source, parts_dir, fmt, skip_bad, chunk = job
        done(score_shard(source, parts_dir, fmt, scorer, skip_bad, chunk, progress))
    jobs.put(None)


def _child(engine: EngineOptions, jobs: Any, events: Any) -> None:
    """A worker process: ("progress", n), ("done", ShardResult) and, on failure, ("error", exception) events."""
    try:
        _score_jobs(OfflineScorer(engine), jobs, lambda n: events.put(("progress", n)),
                    lambda r: events.put(("done", r)))
    except BaseException as e:  # noqa: BLE001 (every failure is the parent's to raise)
        events.put(("error", e))
        raise SystemExit(1) from None  # if the exception cannot be sent, the exit code still tells


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
    """`workers` processes score the files, this one included: it starts workers - 1 children (each a fresh
    interpreter with its own ONNX Runtime session) and scores from the same queue of files while they start."""
    ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no ORT state crosses a fork
    jobs, events = ctx.Queue(), ctx.Queue()
    for s in todo:
        jobs.put((s, parts_dir, opts.fmt, opts.skip_bad, opts.chunk))
    jobs.put(None)  # the end mark: each process puts it back when it sees it
    children = [ctx.Process(target=_child, args=(opts.engine, jobs, events), daemon=True)
                for _ in range(min(opts.workers, len(todo)) - 1)]
    for c in children:
        c.start()
    lock = threading.Lock()
    finished: list[ShardResult] = []
    failure: list[BaseException] = []

    def done(r: ShardResult) -> None:
        with lock:
            finish(r)
            finished.append(r)

    def relay() -> None:  # the children's events -> the bar and the results, until every file is done
        while len(finished) < len(todo) and not failure:
            try:
                kind, value = events.get(timeout=0.5)
            except queue.Empty:
                dead = [c.exitcode for c in children if c.exitcode not in (None, 0)]
                if dead:
                    failure.append(RuntimeError(f"a worker process died (exit code {dead[0]})"))
                continue
            if kind == "progress":
                progress(value)
            elif kind == "done":
                done(value)
            else:
                failure.append(value)

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    def own_progress(n: int) -> None:
        if failure:
            raise _Stopped
        progress(n)

    try:
        _score_jobs(OfflineScorer(opts.engine), jobs, own_progress, done)
        relay_thread.join()
    except _Stopped:
        pass  # the child's failure is raised below
    except BaseException as e:
        failure.append(e)
        raise
    finally:
        if failure:
            for c in children:
                c.terminate()
        for c in children:
            c.join()
    if failure:
        raise failure[0]
