"""Prometheus scrapes what the service serves; the Grafana dashboard only queries metrics (and labels) that a
real running server exports."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from deploy_support import REPO, env_mapping, exposition_names, grafana_queries, load_yaml, promql_refs, served_paths

DASHBOARD = REPO / "docker" / "grafana" / "dashboards" / "sketchq.json"
# Labels Prometheus adds to every scraped series, and the histogram bucket label.
TARGET_LABELS = {"instance", "job", "le"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    return load_yaml(REPO / "docker" / "prometheus" / "prometheus.yml")


def api_port(compose: dict[str, Any]) -> int:
    return int(env_mapping(compose["services"]["api"]["environment"])["SKETCHQ_PORT"] or 0)


def test_prometheus_scrapes_the_port_and_path_the_service_serves(prometheus: dict[str, Any],
                                                                 compose: dict[str, Any]) -> None:
    (job,) = [j for j in prometheus["scrape_configs"] if j["job_name"] == "sketchq-api"]
    paths = served_paths()
    assert job.get("metrics_path", "/metrics") in paths
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["api"] and sd["type"] == "A"  # one target per replica
    assert sd["port"] == api_port(compose)
    # The file Prometheus is started with is this one.
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert "--config.file=/etc/prometheus/prometheus.yml" in compose["services"]["prometheus"]["command"]


def test_grafana_is_provisioned_with_the_data_source_and_dashboard(dashboard: dict[str, Any],
                                                                   compose: dict[str, Any]) -> None:
    prov = REPO / "docker" / "grafana" / "provisioning"
    (ds,) = load_yaml(prov / "datasources" / "prometheus.yml")["datasources"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
    assert "prometheus" in compose["services"]
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    uids |= {p["datasource"]["uid"] for p in dashboard["panels"]}
    assert uids == {ds["uid"]}
    (provider,) = load_yaml(prov / "dashboards" / "sketchq.yml")["providers"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in compose["services"]["grafana"]["volumes"] if ":" in m}
    assert (REPO / mounts[provider["options"]["path"]] / DASHBOARD.name).exists()
    assert mounts["/etc/grafana/provisioning"] == "./docker/grafana/provisioning"


def test_dashboard_has_the_panels_operators_need(dashboard: dict[str, Any]) -> None:
    queries = [q for _, q in grafana_queries(dashboard)]
    text = "\n".join(queries)

    def some(pattern: str) -> bool:
        return any(re.search(pattern, q) for q in queries)

    assert some(r"rate\(sketchq_http_request_duration_seconds_count"), "request rate"
    for quantile in ("0.5", "0.99"):
        assert some(rf"histogram_quantile\({quantile}, sum by \(endpoint, le\) \(rate\("
                    r"sketchq_http_request_duration_seconds_bucket"), f"latency p{quantile} by endpoint"
    assert "sketchq_batch_size" in text, "batch size"
    assert "sketchq_queue_depth" in text, "queue depth"
    assert some(r'sketchq_cache_requests_total\{[^}]*outcome="hit"'), "cache hit ratio"
    assert some(r"\bproviders\b.*sketchq_model_info|sketchq_model_info.*\bproviders\b") or \
        any("providers" in q and "sketchq_model_info" in q for q in queries), "execution provider"


def test_dashboard_queries_name_only_exported_metrics_and_labels(dashboard: dict[str, Any], live_metrics: str) -> None:
    exported = exposition_names(live_metrics)
    assert "sketchq_http_request_duration_seconds_bucket" in exported  # the server really answered
    queries = grafana_queries(dashboard)
    assert len(queries) >= 10
    for title, expr in queries:
        refs = promql_refs(expr)
        assert refs.metrics, f"{title}: no metric in {expr}"
        unknown = refs.metrics - set(exported)
        assert not unknown, f"{title}: {sorted(unknown)} not exported by the service (query: {expr})"
        labels = set().union(*(exported[m] for m in refs.metrics)) | TARGET_LABELS
        bad = (refs.matcher_labels | refs.grouping_labels) - labels
        assert not bad, f"{title}: labels {sorted(bad)} not on {sorted(refs.metrics)} (query: {expr})"
    for var in dashboard["templating"]["list"]:
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", var["query"]["query"])
        assert m and m.group(1) in exported and m.group(2) in TARGET_LABELS | exported[m.group(1)]


def test_promql_parsing_sees_metrics_and_labels() -> None:
    """The checker itself: it must find names inside functions, selectors and aggregations."""
    refs = promql_refs('histogram_quantile(0.99, sum by (endpoint, le) (rate(a_bucket{instance=~"$x", '
                       'b="c"}[$__rate_interval]))) / ignoring(d) b_total offset 5m')
    assert refs.metrics == {"a_bucket", "b_total"}
    assert refs.matcher_labels == {"instance", "b"}
    assert refs.grouping_labels == {"endpoint", "le", "d"}
