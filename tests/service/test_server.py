"""One service process (service.server): the garbage collector's setting once the app is up."""

from __future__ import annotations

from typing import Any

import httpx
from server_proc import metric, metrics_text
from svc_support import ServerProc

from service.server import GC_GEN0_THRESHOLD


def test_a_64_sketch_request_does_not_set_off_young_collections(server: ServerProc,
                                                                sketches: list[dict[str, Any]]) -> None:
    """With CPython's default (700 allocations) every 64-sketch request body set off several collections;
    after service.server.tune_gc one comes only every GC_GEN0_THRESHOLD allocations."""
    body = {"sketches": [{"strokes": s["strokes"]} for s in sketches[:64]]}
    before = metric(metrics_text(server.url), "python_gc_collections_total", generation="0")
    with httpx.Client(timeout=30) as client:
        for _ in range(10):
            assert client.post(f"{server.url}/score", json=body).status_code == 200
    after = metric(metrics_text(server.url), "python_gc_collections_total", generation="0")
    # A request allocates a few thousand objects: 10 of them are well under 2 thresholds' worth.
    assert after - before <= 2, (before, after, GC_GEN0_THRESHOLD)


def test_the_server_says_it_runs_the_compiled_preprocessing(server: ServerProc) -> None:
    """The `ready` log line names the preprocessing in use (sketchprep.native: the compiled kernel, built by
    `pip install -e .` here, or numpy only where no C compiler was found)."""
    ready = [line for line in server.log().splitlines() if "ready in" in line]
    assert ready and "preprocessing compiled (sketchprep._native)" in ready[0], ready
