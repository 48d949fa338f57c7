"""The checks' outcome: the report, its exceptions (Skip, CheckFailed), timed output, JSON diffs."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Iterator
from typing import Any


class Skip(Exception):
    """Podman cannot run containers here at all: not a defect of the project."""


class CheckFailed(Exception):
    pass


T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


class Report:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {"checks": [], "timings_s": {}, "images": {}, "host": {
            "machine": platform.machine(), "cpus": os.cpu_count(), "kernel": platform.release()}}

    def check(self, name: str, ok: bool, detail: Any = "") -> None:
        self.data["checks"].append({"check": name, "ok": bool(ok), "detail": detail})
        say(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail != "" else ""))
        if not ok:
            raise CheckFailed(f"{name}: {detail}")

    def equal(self, name: str, got: Any, want: Any) -> None:
        if got == want:
            self.check(name, True)
        else:
            self.check(name, False, f"got {_short(got)}, expected {_short(want)}")

    def time(self, name: str, seconds: float) -> None:
        self.data["timings_s"][name] = round(seconds, 2)
        say(f"time {name}: {seconds:.1f} s")

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        t = time.monotonic()
        yield
        self.time(name, time.monotonic() - t)


def _short(value: Any, n: int = 300) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= n else text[:n] + "..."


def diff_json(a: Any, b: Any, path: str = "$") -> str | None:
    """First place two JSON values differ (None: equal)."""
    if type(a) is not type(b):
        return f"{path}: {_short(a, 80)} vs {_short(b, 80)}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only on one side"
            d = diff_json(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = diff_json(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"
