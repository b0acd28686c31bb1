"""OpenTelemetry traces: one span per GraphQL operation, child spans per database call and per
DataLoader batch (never per field: bench/tracing.py measures the cost).

Off unless the standard variables ask for it: an OTLP exporter (HTTP/protobuf) is set up when
OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and OTEL_SDK_DISABLED
is not true and OTEL_TRACES_EXPORTER is not "none"; the exporter reads the rest of the OTEL_*
variables itself (headers, timeout, compression; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
through the resource). While off, every helper here returns at once without creating a span.

The provider is ours, not the OpenTelemetry global (which can be set once per process): tests
and the benchmark install one with an in-memory exporter through `use_provider`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

INSTRUMENTATION = "sigma_graphql"
_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None


def enabled() -> bool:
    return _tracer is not None


def use_provider(provider: TracerProvider | None) -> None:
    """Sends spans to `provider` from now on; None switches tracing off."""
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer(INSTRUMENTATION) if provider is not None else None


def wanted_by_environment(env: Mapping[str, str] | None = None) -> bool:
    source = os.environ if env is None else env
    if source.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if source.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(
        source.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or source.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_from_environment() -> None:
    """Called once per process at start-up (the application lifespan)."""
    if _provider is not None or not wanted_by_environment():
        return
    # Imported only when wanted: the exporter pulls in protobuf and requests.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "sigma")})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)


def shutdown() -> None:
    """Flushes spans still queued (the application lifespan, at exit)."""
    if _provider is not None:
        _provider.shutdown()


def continue_caller(headers: Mapping[str, str]) -> object | None:
    """Continues the caller's trace (W3C traceparent / tracestate) for the rest of this task:
    every span of the request, the session lookup included, joins it. Give the result to
    `deactivate`. Nothing while tracing is off."""
    if _tracer is None:
        return None
    return otel_context.attach(_propagator.extract(headers))


def start_span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: otel_context.Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    start_time: int | None = None,
) -> Span | None:
    """A started span (None while tracing is off); its parent is `parent` or the current span."""
    if _tracer is None:
        return None
    return _tracer.start_span(
        name, context=parent, kind=kind, attributes=attributes, start_time=start_time
    )


def activate(span: Span | None) -> object | None:
    """Makes `span` the current one for this task; give the result to `deactivate`."""
    if span is None:
        return None
    return otel_context.attach(trace.set_span_in_context(span))


def deactivate(token: object | None) -> None:
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]


def fail(span: Span | None, error: BaseException) -> None:
    """Marks the span failed with the error's type only (messages may quote values)."""
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)


@contextmanager
def span(
    name: str, attributes: Mapping[str, Any] | None = None, *, kind: SpanKind = SpanKind.INTERNAL
) -> Iterator[Span | None]:
    """A child span of the current one around a block (nothing while tracing is off)."""
    if _tracer is None:
        yield None
        return
    current = _tracer.start_span(name, kind=kind, attributes=attributes)
    token = otel_context.attach(trace.set_span_in_context(current))
    try:
        yield current
    except BaseException as exc:
        fail(current, exc)
        raise
    finally:
        otel_context.detach(token)
        current.end()


def current_trace_id() -> str | None:
    """The current trace id in hex (for the request log line), None outside a trace."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
