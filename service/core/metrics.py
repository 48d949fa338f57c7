"""Prometheus metrics, on a registry owned by one app (so several apps can live in one process).

Conventions: base units (seconds), `_total` counters, bounded label values (route templates, status
classes, fixed outcome names; never ids). Queue wait and compute time are separate histograms; sketches
and batches are counted separately (`sketchq_batch_size` counts batches, `sketchq_sketches_scored_total`
sketches). Cache hit ratio = rate(hit) / rate(all outcomes) in the query.

With several worker processes (service.supervisor) prometheus_client runs in its multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set by the supervisor before the workers start): every process writes its values to
that directory and /metrics, whichever process answers, adds them up (counters and histograms summed; each
gauge by the rule given with it). Gauges read from a function at scrape time in one process (queue depth,
requests in flight) are then written by each process once a second (`publish_live`), so they may be up to a
second old; process_* and python_* metrics are only reported by a single process.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_RATIO_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
LIVE_PUBLISH_S = 1.0  # how often each worker process writes its function-read gauges (multiprocess mode)


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, when the service runs as several processes."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self._live: list[tuple[Gauge, Callable[[], float]]] = []
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes, open fds, ...
        GCCollector(registry=r)  # python_gc_*
        PlatformCollector(registry=r)  # python_info
        self.request_seconds = Histogram(
            "sketchq_http_request_duration_seconds", "HTTP request latency by route, method and status class",
            ["endpoint", "method", "status_class"], buckets=_LATENCY_BUCKETS, registry=r)
        self.sketches_scored = Counter(
            "sketchq_sketches_scored_total", "Sketches answered, by where the answer came from",
            ["source"], registry=r)
        self.batch_size = Histogram(
            "sketchq_batch_size", "Sketches per model call", buckets=_BATCH_BUCKETS, registry=r)
        self.queue_wait_seconds = Histogram(
            "sketchq_queue_wait_seconds", "Time a sketch waited in the batch queue", buckets=_LATENCY_BUCKETS,
            registry=r)
        self.compute_seconds = Histogram(
            "sketchq_compute_seconds", "Model compute time per batch (collate + ONNX Runtime)",
            buckets=_LATENCY_BUCKETS, registry=r)
        self.padding_ratio = Histogram(
            "sketchq_batch_padding_ratio", "Fraction of a batch's time steps that are padding",
            buckets=_RATIO_BUCKETS, registry=r)
        self.queue_depth = Gauge("sketchq_queue_depth", "Sketches waiting in the batch queue", registry=r,
                                 multiprocess_mode="livesum")
        self.auth = Counter("sketchq_auth_requests_total", "Work requests checked for an API key, by outcome",
                            ["outcome"], registry=r)
        self.rate_limit = Counter("sketchq_rate_limit_requests_total",
                                  "Work requests checked against their client's cost budget, by outcome",
                                  ["outcome"], registry=r)
        self.rate_limit_cost = Counter("sketchq_rate_limit_cost_total",
                                       "Cost (sketch evaluations) charged to clients' budgets", registry=r)
        self.rate_limit_backend_errors = Counter(
            "sketchq_rate_limit_backend_errors_total", "Rate-limit lookups Redis failed (served by in-process buckets)",
            registry=r)
        self.in_flight = Gauge("sketchq_requests_in_flight",
                               "Scoring, attribution and enhancement requests admitted and not yet answered",
                               registry=r, multiprocess_mode="livesum")
        self.rejected = Counter(
            "sketchq_rejected_requests_total",
            "Requests refused with 503 by reason; head_abuse: connections refused with 429 because their address "
            "sent too many refused request heads", ["reason"], registry=r)
        self.inline_computes = Counter(
            "sketchq_inline_computes_total",
            "One-sketch requests computed on the event loop: the batcher was idle and the request the only one "
            "being served (inline_when_idle)", registry=r)
        self.dropped = Counter(
            "sketchq_dropped_sketches_total", "Queued sketches dropped before compute, by reason", ["reason"],
            registry=r)
        self.cache_requests = Counter(
            "sketchq_cache_requests_total", "Cache lookups per sketch, by outcome (hit, miss, error)", ["outcome"],
            registry=r)
        self.cache_outages = Counter(
            "sketchq_cache_outages_total", "Times the cache backend went from working to failing", registry=r)
        self.model_info = Gauge(
            "sketchq_model_info", "The loaded model and the execution providers in use (value 1)",
            ["name", "version", "sha256", "providers", "device"], registry=r, multiprocess_mode="livemax")
        self.attribution_evaluations = Counter(
            "sketchq_attribution_evaluations_total", "Sketches scored by /attribute searches", registry=r)
        self.attribution_verdicts = Counter(
            "sketchq_attribution_verdicts_total", "/attribute answers by verdict", ["verdict"], registry=r)
        for verdict in ("benign", "rare_hard", "malicious"):
            self.attribution_verdicts.labels(verdict)
        self.enhance_evaluations = Counter(
            "sketchq_enhance_evaluations_total", "Sketches scored by /enhance searches", registry=r)
        self.enhance_decodes = Counter(
            "sketchq_enhance_decodes_total", "Latents decoded by the /enhance VAE", registry=r)
        self.ready = Gauge("sketchq_ready", "1 when /readyz answers 200 (with several processes: in every one)",
                           registry=r, multiprocess_mode="livemin")
        self._request_children: dict[tuple[str, str, int], Histogram] = {}
        for outcome in ("hit", "miss", "error"):
            self.cache_requests.labels(outcome)
        for source in ("model", "cache"):
            self.sketches_scored.labels(source)
        for reason in ("shed", "queue_full", "timeout", "shutting_down", "head_abuse"):
            self.rejected.labels(reason)
        for outcome in ("ok", "missing", "invalid"):
            self.auth.labels(outcome)
        for outcome in ("allowed", "limited"):
            self.rate_limit.labels(outcome)
        for reason in ("client_gone", "timeout"):
            self.dropped.labels(reason)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        key = (endpoint, method, status // 100)
        child = self._request_children.get(key)
        if child is None:  # label values are bounded (route templates, methods, 1xx-5xx): so is this dict
            child = self._request_children[key] = self.request_seconds.labels(endpoint, method, f"{status // 100}xx")
        child.observe(seconds)

    def track(self, gauge: Gauge, value: Callable[[], float]) -> None:
        """`gauge` reads `value()`: at scrape time in one process, every LIVE_PUBLISH_S s with several (the
        service's publisher task calls publish_live)."""
        if self.multiprocess:
            self._live.append((gauge, value))
            gauge.set(value())
        else:
            gauge.set_function(value)

    def publish_live(self) -> None:
        """Write the function-read gauges' current values (multiprocess mode; a no-op otherwise)."""
        for gauge, value in self._live:
            gauge.set(value())

    def render(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # every process's values, from PROMETHEUS_MULTIPROC_DIR
        return generate_latest(registry)
