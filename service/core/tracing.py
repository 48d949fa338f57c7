"""Optional OpenTelemetry traces (SKETCHQ_OTEL_TRACES=true, the `otel` extra): a span per request (the
route, status and request id), `read_body` for reading it, `batcher.submit` for a request's sketches from
queueing to their results, and `batch.compute` per model call (in the engine's worker thread, linked to the
requests whose sketches it computed). Without the setting, or without opentelemetry installed, every span
here is a no-op costing next to nothing.

The exporter follows OpenTelemetry's own variables: OTEL_TRACES_EXPORTER=otlp (default; OTLP over HTTP to
OTEL_EXPORTER_OTLP_ENDPOINT, needs opentelemetry-exporter-otlp-proto-http) or console (stdout).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

try:
    from opentelemetry import trace
except ImportError:  # the serving stack does not need it
    trace = None  # type: ignore[assignment]

_enabled = False


def configure(service_name: str = "sketchq") -> None:
    """Install the SDK's tracer provider and exporter (called once at start-up when the setting is on)."""
    global _enabled
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError as e:
        raise RuntimeError("SKETCHQ_OTEL_TRACES=true needs the otel extra: pip install -e '.[otel]'") from e
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp") == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _enabled = True


@contextlib.contextmanager
def span(name: str, links: Sequence[Any] = (), **attributes: Any) -> Iterator[Any]:
    if not _enabled:
        yield None
        return
    seen: set[tuple[int, int]] = set()
    links_ = []
    for c in links:  # one link per distinct span (a request's sketches share one)
        if c is not None and c.is_valid and (c.trace_id, c.span_id) not in seen:
            seen.add((c.trace_id, c.span_id))
            links_.append(trace.Link(c))
    with trace.get_tracer("sketchq").start_as_current_span(name, attributes=attributes, links=links_) as s:
        yield s


def current_context() -> Any:
    """The current span's context (to link a batch to the requests in it); None when tracing is off."""
    return trace.get_current_span().get_span_context() if _enabled else None
