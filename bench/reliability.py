"""The reliability suite's load parts (issue 14): real servers, real HTTP from this process, results as JSON.

    .venv/bin/python bench/reliability.py --out bench/results-reliability.json          # everything
    .venv/bin/python bench/reliability.py --parts flood,overload --out /tmp/r.json      # some parts

Parts (each compares within the same run, so a busy machine shifts both sides):
- schema:    schemathesis (positive and negative data, every check) against the running server's own
             /openapi.json, `--max-examples` cases per operation (default 2000); bench/st_hooks.py adds
             what JSON Schema cannot say (equally long rows, non-decreasing times)
- sigterm:   SIGTERM during a 50-step /enhance: its status and the process' exit status
- flood:     other clients' /score p50/p99 while 4 connections send endless headers, against idle; RSS
- overload:  closed-loop overload (latency of 200 vs 503 answers), and the server CPU per answer of the
             same requests answered 200 against shed with 503 (the queue held full)
- ratelimit: requests passed before the first 429, Retry-After, time until served again, sustained rate
- redis:     Redis killed and restarted under load: failed requests (must be 0)

The quick, pass/fail versions of these are tests (tests/service/test_http_limits.py, test_overload.py,
test_access.py, tests/deploy/test_graceful_shutdown.py). The JSON records the load average before and after.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

import reliability_load as load  # noqa: E402
from server_proc import DATA, ServerProc, wait_until  # noqa: E402

from sketchprep.formats import read_ndjson  # noqa: E402
from sketchprep.strokes import strokes_to_drawing  # noqa: E402

# The server schemathesis runs against: limits small enough that a case is cheap, consistent enough that
# every schema-valid body is one the server accepts (attribute_max_strokes = max_strokes, see st_hooks.py).
SCHEMA_SERVER = {"cache": "off", "enhance_max_steps": 2, "enhance_max_population": 4, "enhance_default_steps": 1,
                 "enhance_population": 2, "max_strokes": 64, "attribute_max_strokes": 64,
                 "attribute_max_removals": 2, "max_sketches": 16, "log_level": "warning"}


def real_sketches(n_per_class: int = 40) -> list[dict[str, Any]]:
    out = []
    for cat in ("cat", "face", "bird", "circle", "alarm_clock", "owl"):
        for rec in itertools.islice(read_ndjson(DATA / f"{cat}.ndjson.gz"), n_per_class):
            out.append({"strokes": strokes_to_drawing(rec.strokes)})
    return out


def schema(model_dir: Path, max_examples: int, seed: int) -> dict[str, Any]:
    srv = ServerProc(model_dir=model_dir, **SCHEMA_SERVER)
    report = Path(f"/tmp/sketchq-st-{os.getpid()}.ndjson")
    try:
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "st_hooks", "PYTHONPATH": str(REPO / "bench")}
        cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{srv.url}/openapi.json", "--checks", "all",
               "--mode", "all", "--max-examples", str(max_examples), "--seed", str(seed),
               "--report", "ndjson", "--report-ndjson-path", str(report), "--output-truncate", "false"]
        started = time.monotonic()
        run = subprocess.run(cmd, env=env, capture_output=True, text=True)
        tail = run.stdout.strip().splitlines()[-12:]
        per_op: dict[str, int] = {}
        failures = 0
        for line in report.read_text().splitlines() if report.exists() else []:
            event = json.loads(line)
            for name, body in event.items():
                if name == "ScenarioFinished" and body.get("recorder"):
                    label = body["recorder"].get("label", "?")
                    per_op[label] = per_op.get(label, 0) + len(body["recorder"].get("cases", {}))
                if name == "ScenarioFinished" and body.get("status") == "failure":
                    failures += 1
        generated = next((ln.strip() for ln in run.stdout.splitlines() if " generated" in ln), "")
        return {"exit_status": run.returncode, "test_cases": generated, "seconds": round(time.monotonic() - started, 1),
                "max_examples": max_examples, "seed": seed, "cases_per_operation": per_op,
                "failed_scenarios": failures, "summary_tail": tail, "server_settings": SCHEMA_SERVER}
    finally:
        srv.stop()
        report.unlink(missing_ok=True)


def sigterm(model_dir: Path) -> dict[str, Any]:
    srv = ServerProc(model_dir=model_dir, cache="off", shutdown_grace_s=0, request_timeout_s=60)
    out: dict[str, Any] = {}
    body = {"sketch": {"strokes": [[[0, 40, 80, 120], [0, 60, 0, 60]]]}, "steps": 50, "population": 16,
            "class": "cat", "seed": 1}

    def enhance() -> None:
        t = time.monotonic()
        r = httpx.post(f"{srv.url}/enhance", json=body, timeout=120)
        out["enhance_status"], out["enhance_s"] = r.status_code, round(time.monotonic() - t, 2)

    try:
        worker = threading.Thread(target=enhance)
        worker.start()
        wait_until(lambda: "sketchq_requests_in_flight 1.0" in httpx.get(f"{srv.url}/metrics").text, 60)
        time.sleep(0.5)  # (a bench: let the search get going before the signal)
        t = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        worker.join(120)
        out["exit_status"] = srv.proc.wait(60)
        out["exit_after_sigterm_s"] = round(time.monotonic() - t, 2)
        return out
    finally:
        srv.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=REPO / "models" / "gacl")
    ap.add_argument("--parts", default="schema,sigterm,flood,overload,ratelimit,redis")
    ap.add_argument("--max-examples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    parts = args.parts.split(",")
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
    sketches = real_sketches() if {"overload", "redis"} & set(parts) else []
    runs = {"schema": lambda: schema(args.model_dir, args.max_examples, args.seed),
            "sigterm": lambda: sigterm(args.model_dir), "flood": lambda: load.header_flood(args.model_dir),
            "overload": lambda: {"mixed": load.overload(args.model_dir, sketches),
                                 "cost": load.shed_cost(args.model_dir, sketches)},
            "ratelimit": lambda: load.rate_limits(args.model_dir),
            "redis": lambda: load.redis_killed(args.model_dir, sketches)}
    for part in parts:
        print(f"--- {part}", file=sys.stderr, flush=True)
        result[part] = runs[part]()
        print(json.dumps(result[part]), file=sys.stderr, flush=True)
    result["loadavg_after"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
