"""What bench/side_by_side.py concludes from its runs: per load point and stack the mean over rounds, the ratios
"sketchq / best peer" and "sketchq / ceiling", and the issue's targets (issue 17):

- sketchq >= the best peer at every load point (sketches/s, mean over the rounds);
- 1-sketch requests at c=32: sketchq >= 60 % of the engine ceiling;
- 64-sketch requests: sketchq >= 85 % of the ceiling, at every 64-sketch load point measured;
- cache hits: p50 < 1 ms (in-process LRU and Redis).

Pure functions of the result JSON (bench/report_side_by_side.py uses them too).
"""

from __future__ import annotations

from typing import Any

PEER_TARGET = ">= 1 (sketchq at least as fast as the best peer)"
SINGLE_C32 = 0.60
BATCH64 = 0.85
CACHE_P50_MS = 1.0


def point_name(size: int, concurrency: int) -> str:
    """A load point's label: sketches per request x concurrency, e.g. 1x32, 64x8."""
    return f"{size}x{concurrency}"


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """load point -> stack -> mean sketches/s over the rounds (with each round's value) and the mean
    p50/p99 and server CPU per request."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        grouped.setdefault((r["load_point"], r["stack"]), []).append(r)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (point, stack), rs in grouped.items():
        def mean(key: str, rs: list[dict[str, Any]] = rs) -> float | None:
            vals = [r[key] for r in rs if r.get(key) is not None]
            return round(sum(vals) / len(vals), 3) if vals else None
        out.setdefault(point, {})[stack] = {
            "sketches_per_s": mean("sketches_per_s"), "rounds": [r["sketches_per_s"] for r in rs],
            "requests_per_s": mean("requests_per_s"), "p50_ms": mean("p50_ms"), "p99_ms": mean("p99_ms"),
            "server_cpu_ms_per_request": mean("server_cpu_ms_per_request"),
            "non_200": sum(n for r in rs for s, n in r["statuses"].items() if s != "200"),
        }
    return out


def compare(summary: dict[str, dict[str, dict[str, Any]]], ceiling: float | None) -> dict[str, dict[str, Any]]:
    """Per load point: sketchq / best peer (and which peer) and sketchq / ceiling."""
    out = {}
    for point, stacks in summary.items():
        ours = (stacks.get("sketchq") or {}).get("sketches_per_s")
        peers = {k: v["sketches_per_s"] for k, v in stacks.items() if k != "sketchq" and v["sketches_per_s"]}
        best = max(peers, key=peers.__getitem__) if peers else None
        out[point] = {
            "sketchq_sketches_per_s": ours,
            "best_peer": best,
            "best_peer_sketches_per_s": peers.get(best) if best else None,
            "sketchq_over_best_peer": round(ours / peers[best], 3) if ours and best else None,
            "sketchq_over_ceiling": round(ours / ceiling, 3) if ours and ceiling else None,
        }
    return out


def evaluate(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, where the needed measurements exist."""
    comparison = result.get("comparison", {})
    out: dict[str, Any] = {}
    vs_peer = {p: c["sketchq_over_best_peer"] for p, c in comparison.items() if c["sketchq_over_best_peer"]}
    if vs_peer:
        out["sketchq_vs_best_peer"] = {"ratios": vs_peer, "target": PEER_TARGET,
                                       "pass": all(v >= 1.0 for v in vs_peer.values()),
                                       "failing_points": [p for p, v in vs_peer.items() if v < 1.0]}
    single = (comparison.get(point_name(1, 32)) or {}).get("sketchq_over_ceiling")
    if single is not None:
        out["single_c32_vs_ceiling"] = {"ratio": single, "target": f">= {SINGLE_C32}", "pass": single >= SINGLE_C32}
    batch64 = {p: c["sketchq_over_ceiling"] for p, c in comparison.items()
               if p.startswith("64x") and c["sketchq_over_ceiling"] is not None}
    if batch64:
        out["batch64_vs_ceiling"] = {"ratios": batch64, "target": f">= {BATCH64} at every 64-sketch load point",
                                     "pass": all(v >= BATCH64 for v in batch64.values())}
    for backend, r in result.get("cache_hits", {}).items():
        if r.get("p50_ms") is not None:
            out[f"cache_hit_p50_{backend}"] = {"p50_ms": r["p50_ms"], "target": f"< {CACHE_P50_MS} ms",
                                               "pass": r["p50_ms"] < CACHE_P50_MS}
    return out
