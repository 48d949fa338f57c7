"""Markdown tables from a bench/side_by_side.py JSON result (issue 17):

    python bench/report_side_by_side.py bench/results-side-by-side.json

The conditions of the run, the answers check, per load point the sketches/s of every stack (mean of the
rounds, each round in brackets) with "sketchq / best peer" and "sketchq / ceiling", then every run's row
(latencies, statuses, CPU per request), the cache hits and the issue's targets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from report import table


def conditions(res: dict[str, Any]) -> str:
    s = res["settings"]
    lines = [f"Model `{res['model']['name']}` v{res['model']['version']} (sha256 {res['model']['sha256'][:12]}), "
             f"{res['machine']['cpus']} CPUs; {s['sketches']} real sketches; {s['rounds']} round(s) of "
             f"{s['warmup_s']} s warm-up + {s['duration_s']} s window per stack and load point; load average "
             f"{[round(x, 2) for x in res['load_average_at_start']]} at the start, "
             f"{[round(x, 2) for x in res.get('load_average_at_end', [])]} at the end; training job running at "
             f"start/end: {res.get('training_job_running_at_start')}/{res.get('training_job_running_at_end')}."]
    for name, info in res.get("stacks", {}).items():
        lines.append(f"- **{name}**: " + ", ".join(f"{k} {json.dumps(v)}" for k, v in info.items()))
    for name, why in res.get("skipped", {}).items():
        lines.append(f"- **{name}: SKIPPED**: {why.splitlines()[0]}")
    return "\n".join(lines)


def answers(res: dict[str, Any]) -> str:
    a = res.get("answers_check")
    if not a:
        return ""
    rows = [{"peer": k, **v, "max_abs_diff": f"{v['max_abs_diff']:.3g}", "max_rel_diff": f"{v['max_rel_diff']:.3g}"}
            for k, v in a["peers"].items()]
    head = (f"**Answers** ({a['sketches']} sketches in 64-sketch requests + {a['single_sketch_requests']} "
            f"1-sketch requests; {a['rule']}, tolerance {a['tolerance']}): "
            f"{'all equal' if a['pass'] else 'MISMATCH'}\n")
    return head + "\n" + table(rows, [("peer", "peer"), ("max_abs_diff", "max abs diff q"),
                                      ("max_rel_diff", "max relative diff q"), ("class_mismatches", "class mismatches"),
                                      ("pass", "equal")])


def side_by_side(res: dict[str, Any]) -> str:
    summary, comparison = res.get("summary", {}), res.get("comparison", {})
    stacks = [s for s in ("sketchq", "triton", "naive") if any(s in v for v in summary.values())]
    rows = []
    for point, by_stack in summary.items():
        row: dict[str, Any] = {"point": point}
        for s in stacks:
            v = by_stack.get(s)
            row[s] = f"{v['sketches_per_s']:.0f} ({', '.join(f'{x:.0f}' for x in v['rounds'])})" if v else None
        row.update(comparison.get(point, {}))
        rows.append(row)
    cols = [("point", "sketches/request x concurrency"), *[(s, f"{s} sketches/s") for s in stacks],
            ("sketchq_over_best_peer", "sketchq / best peer"), ("best_peer", "best peer"),
            ("sketchq_over_ceiling", "sketchq / ceiling")]
    return table(rows, cols)


def all_runs(res: dict[str, Any]) -> str:
    return table(res.get("runs", []), [
        ("load_point", "point"), ("stack", "stack"), ("round", "round"), ("requests_per_s", "requests/s"),
        ("sketches_per_s", "sketches/s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"),
        ("server_cpu_ms_per_request", "server CPU ms/req"),
        ("server_main_threads_cpu_ms_per_request", "of which main threads (sketchq: event loops)"),
        ("server_cpu_cores", "server cores"), ("client_cpu_ms_per_request", "client CPU ms/req"),
        ("other_stacks_cpu_s", "idle stacks CPU s"), ("statuses", "statuses")])


def main(path: str) -> None:
    res = json.loads(Path(path).read_text())
    print(conditions(res) + "\n")
    if "ceiling" in res:
        b = res["ceiling"]["best"]
        before, after = (res[k]["best"]["sketches_per_s"] for k in ("ceiling_before", "ceiling_after"))
        print(f"**Ceiling** (ONNX Runtime alone, in process, bench/run.py's measure_ceiling): {b['sketches_per_s']} "
              f"sketches/s at batch {b['batch']} (intra_op_threads={b['intra_op_threads']}, workers={b['workers']}); "
              f"before the servers {before}, after {after}.\n")
    print(answers(res) + "\n")
    if "summary" in res:
        print("**Side by side** (sketches/s, mean of the rounds, each round in brackets):\n")
        print(side_by_side(res) + "\n")
        print("**Every run:**\n")
        print(all_runs(res) + "\n")
    if res.get("cache_hits"):
        rows = [{"backend": k, **v} for k, v in res["cache_hits"].items()]
        print("**sketchq cache hits** (sequential single-sketch requests, all hits):\n")
        print(table(rows, [("backend", "cache"), ("requests_per_s", "requests/s"), ("p50_ms", "p50 ms"),
                           ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"), ("cache_hits", "hits"),
                           ("cache_misses", "misses")]) + "\n")
    print("**Targets:**\n")
    print(table([{"name": k, **v} for k, v in res.get("targets", {}).items()],
                [("name", "target"), ("target", "goal"), ("ratio", "ratio"), ("ratios", "ratios"),
                 ("p50_ms", "p50 ms"), ("pass", "met")]))


if __name__ == "__main__":
    main(sys.argv[1])
