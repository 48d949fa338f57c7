"""HTTP probes of the running service: waiting for readiness, /metrics samples, requests, free ports."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from .report import CheckFailed


def http() -> Any:
    import httpx

    return httpx


def wait_until(what: str, probe: Callable[[], bool], timeout: float, interval: float = 0.1) -> float:
    t = time.monotonic()
    while True:
        try:
            if probe():
                return time.monotonic() - t
        except Exception:  # noqa: BLE001 (not up yet)
            pass
        if time.monotonic() - t > timeout:
            raise CheckFailed(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def ready(url: str) -> bool:
    return http().get(f"{url}/readyz", timeout=2).status_code == 200


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            m = re.match(r"([^{ ]+)(?:\{([^}]*)\})? (\S+)", line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
    return total


def call(url: str, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    r = http().request(method, f"{url}{path}", json=body, timeout=120)
    return r.status_code, r.json()


def free_port() -> int:
    from server_proc import free_port as fp

    return fp()
