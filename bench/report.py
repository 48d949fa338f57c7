"""Markdown tables from a bench/run.py JSON result: python bench/report.py bench/results.json"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    out = ["| " + " | ".join(title for _, title in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join("" if r.get(k) is None else str(r.get(k)) for k, _ in cols) + " |")
    return "\n".join(out)


def main(path: str) -> None:
    res = json.loads(Path(path).read_text())
    print(f"Model `{res['model']['name']}` v{res['model']['version']} (sha256 {res['model']['sha256'][:12]}), "
          f"{res['machine']['cpus']} CPUs, training job running at start/end: "
          f"{res['training_job_running']['at_start']}/{res['training_job_running']['at_end']}, "
          f"load average at start {res.get('load_average_at_start')}.\n")
    for when in ("ceiling_before", "ceiling_after"):
        if when in res:
            b = res[when]["best"]
            print(f"- {when.replace('_', ' ')} the servers: best {b['sketches_per_s']} sketches/s (batch {b['batch']}, "
                  f"intra_op_threads={b['intra_op_threads']}, workers={b['workers']}; median of {b['rounds']})")
    print()
    if "ceiling" in res:
        c = res["ceiling"]
        print(f"**Ceiling** (engine alone, in process): {c['best']['sketches_per_s']} sketches/s at batch "
              f"{c['best']['batch']} (intra_op_threads={c['best']['intra_op_threads']}, "
              f"workers={c['best']['workers']}); preprocessing alone: {c['preprocess_sketches_per_s_one_core']} "
              f"sketches/s on one core; mean {c['mean_points_per_sketch']} points per sketch.\n")
        print(table(c["all"], [("intra_op_threads", "ORT threads"), ("workers", "workers"), ("batch", "batch"),
                               ("sketches_per_s", "sketches/s (median)"), ("rounds", "rounds")]) + "\n")
    cols = [("sketches_per_request", "sketches/request"), ("concurrency", "concurrency"),
            ("requests_per_s", "requests/s"), ("sketches_per_s", "sketches/s"), ("p50_ms", "p50 ms"),
            ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"), ("mean_batch_size", "mean batch"),
            ("server_cpu_ms_per_request", "server CPU ms/req"), ("server_loop_cpu_ms_per_request", "of which loop"),
            ("client_cpu_ms_per_request", "client CPU ms/req"), ("statuses", "statuses")]
    for name in ("batching", "nobatching"):
        if name in res:
            print(f"**Server, {name}** ({res[name]['server_settings']}):\n")
            print(table(res[name]["runs"], cols) + "\n")
    if "cache_hits" in res:
        rows = [{"backend": k, **v} for k, v in res["cache_hits"].items()]
        print("**Cache hits** (sequential single-sketch requests, all hits):\n")
        print(table(rows, [("backend", "cache"), ("requests_per_s", "requests/s"), ("p50_ms", "p50 ms"),
                           ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"), ("cache_hits", "hits"),
                           ("cache_misses", "misses")]) + "\n")
    print("**Targets:**\n")
    for k, v in res.get("targets", {}).items():
        print(f"- {k}: {v}")


if __name__ == "__main__":
    main(sys.argv[1])
