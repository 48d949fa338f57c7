"""CPU seconds of a process and all its descendants, read from /proc (Linux).

A server can be several processes (Triton: the PyTriton process, tritonserver, one Python-backend stub per
model instance); `tree_cpu_seconds(pid)` sums user + system time over the process whose id is given and
every process below it, as they are at the moment of the call (a child that has exited is not counted).
`tree_main_thread_cpu_seconds(pid)` counts only each process's main thread (for sketchq's workers, the event
loop; the engine threads are the rest). Used by bench/load.py to read the servers' CPU at the start and the end of
its measured window.
"""

from __future__ import annotations

import os
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


def stat_fields(path: str | Path) -> list[str] | None:
    """The fields of a /proc/PID/stat (or /proc/PID/task/TID/stat) file from the state on (state, ppid, ...,
    utime at 11, stime at 12), None when the process is gone. The command name before them may hold spaces
    and parentheses, so they are read after its last ")"."""
    try:
        stat = Path(path).read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def ticks(fields: list[str]) -> int:
    """utime + stime, in clock ticks, of `stat_fields`' result."""
    return int(fields[11]) + int(fields[12])


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime in clock ticks) of one process, None when it is gone."""
    fields = stat_fields(f"/proc/{pid}/stat")
    return None if fields is None else (int(fields[1]), ticks(fields))


def tree_pids(root: int) -> list[int]:
    """`root` and its descendants (empty when `root` is gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            children.setdefault(st[0], []).append(int(entry.name))
    if not Path(f"/proc/{root}").exists():
        return []
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_cpu_seconds(root: int, pids: list[int] | None = None) -> float:
    """User + system CPU seconds so far of `root` and its descendants (`pids`: `tree_pids(root)`, when the caller
    has it already: each call scans /proc)."""
    return sum(st[1] for pid in (tree_pids(root) if pids is None else pids) if (st := _stat(pid)) is not None) / HZ


def tree_main_thread_cpu_seconds(root: int, pids: list[int] | None = None) -> float:
    """User + system CPU seconds so far of the main thread of `root` and of each of its descendants."""
    total = 0
    for pid in tree_pids(root) if pids is None else pids:
        if (fields := stat_fields(f"/proc/{pid}/task/{pid}/stat")) is not None:
            total += ticks(fields)
    return total / HZ


def tree_cpu_split(root: int) -> tuple[float, float]:
    """(`tree_cpu_seconds`, `tree_main_thread_cpu_seconds`) of `root`, from one scan of /proc."""
    pids = tree_pids(root)
    return tree_cpu_seconds(root, pids), tree_main_thread_cpu_seconds(root, pids)
