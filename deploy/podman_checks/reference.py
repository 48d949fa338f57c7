"""The requests sent to the containers, and the answers of `python -m service` they must match."""

from __future__ import annotations

import json
import os
import random
from typing import Any

from .http_probes import call
from .report import CheckFailed, Report
from .settings import REPO


def example_sketches(group: str = "middle", n_per_class: int = 2) -> list[dict[str, Any]]:
    """Real validation drawings (service/static/examples.json) of one group (bottom, middle or top by q), labelled."""
    data = json.loads((REPO / "service" / "static" / "examples.json").read_text())
    out = []
    for category, entry in data["categories"].items():
        for ex in entry["groups"][group][:n_per_class]:
            out.append({"strokes": ex["strokes"], "label": category})
    return out


def requests_to_compare() -> list[tuple[str, str, dict[str, Any] | None]]:
    """What the container (and the load balancer) must answer exactly like `python -m service`: each request
    on sketches no earlier one sent, so that every answer is computed (a cache hit would say `cached`)."""
    batch, top, bottom = example_sketches("middle"), example_sketches("top", 1), example_sketches("bottom", 1)
    return [
        ("GET", "/v1/model", None),
        ("POST", "/score", {"sketches": batch, "top_k": 5}),
        ("POST", "/score", {"sketches": [{"strokes": bottom[0]["strokes"]}]}),
        ("POST", "/attribute", {"sketch": bottom[3]}),
        ("POST", "/enhance", {"sketch": top[0], "seed": 7}),
        ("POST", "/enhance", {"sketch": top[10], "seed": 3, "steps": 5, "population": 8, "alpha": 0.3}),
    ]


def unique_sketch() -> dict[str, Any]:
    """A drawing no cache has seen (random points): a miss the first time, whatever ran before."""
    rng = random.Random()
    xs = [rng.randrange(256) for _ in range(12)]
    ys = [rng.randrange(256) for _ in range(12)]
    return {"strokes": [[xs[:6], ys[:6]], [xs[6:], ys[6:]]]}


def local_answers(report: Report) -> dict[tuple[str, str, int], tuple[int, Any]]:
    """The answers of `python -m service` (this checkout, the same models, cache off) to the compared requests."""
    from server_proc import ServerProc

    # The containers run with OpenBLAS' own choice of kernel for this CPU; a host that forces one
    # (OPENBLAS_CORETYPE=Haswell here, where the container detects SkylakeX) would give /attribute's score, a
    # 6-term np.dot, other last bits (15.421240908108794 vs ...796). The reference runs as the container does.
    overrides = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("OPENBLAS_")}
    report.data["local_reference_env_removed"] = overrides
    try:
        srv = ServerProc(model_dir=REPO / "models" / "gacl", enhance_model_dir=REPO / "models" / "sketchrnn",
                         cache="off")
    finally:
        os.environ.update(overrides)
    try:
        out = {}
        for i, (method, path, body) in enumerate(requests_to_compare()):
            status, answer = call(srv.url, method, path, body)
            if status != 200:
                raise CheckFailed(f"local service: {method} {path} -> {status} {answer}")
            out[(method, path, i)] = (status, answer)
        return out
    finally:
        srv.stop()
