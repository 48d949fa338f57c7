"""The stack's Prometheus: both replicas scraped, every Grafana dashboard query evaluated with data."""

from __future__ import annotations

import json
import time

from .http_probes import http, wait_until
from .report import CheckFailed, Report
from .settings import REPO


def check_prometheus(report: Report, prom: str, lb: str, ips: dict[str, str]) -> None:
    httpx = http()

    def targets_up() -> bool:
        data = httpx.get(f"{prom}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        api = [t for t in data if t["labels"].get("job") == "sketchq-api"]
        return sorted(t["labels"]["instance"] for t in api if t["health"] == "up") == \
            sorted(f"{ip}:8000" for ip in ips.values())

    try:
        waited = wait_until("Prometheus: both replicas up", targets_up, 90, interval=1)
    except CheckFailed:
        waited = None
    data = httpx.get(f"{prom}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    seen = {t["labels"]["instance"]: t["health"] for t in data if t["labels"].get("job") == "sketchq-api"}
    report.check("stack: Prometheus' targets API reports both replicas (found by DNS) up", waited is not None, seen)
    # Every query of the Grafana dashboard, as Grafana would send it, parsed and evaluated by Prometheus; each
    # must return data (a 4xx first, for the errors panel; two more scrapes, so that rate() has points).
    bad = httpx.post(f"{lb}/score", json={"sketches": []}, timeout=10)
    report.equal("stack: an invalid request through the load balancer gets the service's 422", bad.status_code, 422)
    time.sleep(11)
    dashboard = json.loads((REPO / "docker" / "grafana" / "dashboards" / "sketchq.json").read_text())
    from deploy_support import grafana_queries

    empty = []
    queries = grafana_queries(dashboard)
    for title, expr in queries:
        q = expr.replace("$__rate_interval", "1m").replace('"$instance"', '".*"')
        r = httpx.get(f"{prom}/api/v1/query", params={"query": q}, timeout=10).json()
        if r.get("status") != "success":
            report.check(f"stack: Prometheus evaluates the dashboard query of {title!r}", False, r)
        if not r["data"]["result"]:
            empty.append(title)
    report.check(f"stack: Prometheus evaluates all {len(queries)} dashboard queries, each with data",
                 not empty, f"no data: {sorted(set(empty))}" if empty else "")
    ready_sum = httpx.get(f"{prom}/api/v1/query", params={"query": "sum(sketchq_ready)"}, timeout=10).json()
    value = float(ready_sum["data"]["result"][0]["value"][1]) if ready_sum["data"]["result"] else 0.0
    report.equal("stack: the dashboard's 'Ready replicas' (sum(sketchq_ready)) is 2", value, 2.0)
