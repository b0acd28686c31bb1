"""The operation hook of metrics, traces and the request log (docs/operations.md): one
SchemaExtension, run once per operation and never per field.

It is the first extension of the schema (schema/build.py), so its `on_operation` exits last and
sees the answer as ErrorPolicy classified it. It
- opens the operation span (a child of the caller's W3C traceparent, continued by the view
  in sigma_graphql/server/app.py) and makes it the current
  span while the operation executes, so database calls and DataLoader batches become its
  children (db/drivers/roundtrips.py, loaders/dataloader.py); subscriptions keep their span
  un-activated (their stream is driven by another task);
- counts the operation by name, type and outcome, times it, and counts each error's code;
- fills the request record (sigma_graphql/observability/request_record.py) for the log line.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult, StreamExecutionResult
from strawberry.types.graphql import OperationType

from sigma_graphql.observability import metrics, request_record, tracing
from sigma_graphql.observability.metrics import INVALID, OperationNames

OK = "ok"
USER_ERRORS = "userErrors"
UNKNOWN_TYPE = "unknown"


def outcome_of(result: object) -> tuple[str, list[str]]:
    """(outcome, every error's code): the first error's code when there are errors, userErrors
    when a root field's payload reports some, else ok."""
    errors = getattr(result, "errors", None) or []
    codes = [str((e.extensions or {}).get("code") or "INTERNAL_SERVER_ERROR") for e in errors]
    if codes:
        return codes[0], codes
    data = getattr(result, "data", None)
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, dict) and value.get("userErrors"):
                return USER_ERRORS, codes
    return OK, codes


def document_hash(query: str | None) -> str | None:
    if query is None:
        return None
    return hashlib.sha256(query.encode()).hexdigest()[:16]


class OperationObserver(SchemaExtension):
    names: OperationNames  # one per schema, set by observer_factory

    def __init__(self) -> None:
        self._span: Any = None
        self._label = INVALID
        self._type = UNKNOWN_TYPE
        self._subscription = False
        self._identified = False
        self._open = False  # a subscription counted in SUBSCRIPTIONS_OPEN

    def _identify(self, *, valid: bool) -> None:
        ec = self.execution_context
        self._identified = True
        try:
            operation_type = ec.operation_type
        except Exception:  # no document, or no such operation: the client's error
            return
        self._type = operation_type.value
        self._subscription = operation_type is OperationType.SUBSCRIPTION
        # Names of documents refused before execution are not kept (they may be anything).
        self._label = self.names.label(ec.operation_name) if valid else INVALID

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        # Its parent is the caller's span (traceparent, continued by the view) when it sent one.
        self._span = tracing.start_span("graphql.operation", kind=SpanKind.SERVER)
        try:
            yield
        finally:
            self._finish(started)

    def on_execute(self) -> Iterator[None]:
        self._identify(valid=True)
        if self._subscription:
            # Executing only starts the stream; on_operation ends with it (_finish).
            metrics.SUBSCRIPTIONS_OPEN.inc()
            self._open = True
            yield
            return
        token = tracing.activate(self._span)
        try:
            yield
        finally:
            tracing.deactivate(token)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        if self._subscription and getattr(result, "data", None) is not None:
            metrics.SUBSCRIPTION_EVENTS.labels(self._label).inc()
        yield

    def _finish(self, started: float) -> None:
        ec = self.execution_context
        if self._open:
            metrics.SUBSCRIPTIONS_OPEN.dec()
        if not self._identified:  # refused before execution (syntax, validation, limits)
            self._identify(valid=False)
        result = ec.result
        if not isinstance(result, GraphQLExecutionResult | ExecutionResult):
            result = None
        outcome, codes = outcome_of(result) if result is not None else (OK, [])
        elapsed = time.perf_counter() - started
        metrics.labeled(metrics.OPERATIONS, self._label, self._type, outcome).inc()
        metrics.labeled(metrics.OPERATION_LATENCY, self._label, self._type).observe(elapsed)
        for code in codes:
            metrics.labeled(metrics.OPERATION_ERRORS, self._label, code).inc()
        ctx = ec.context
        viewer = getattr(ctx, "viewer", None)
        audience = str(getattr(getattr(viewer, "audience", None), "value", "PUBLIC"))
        record = request_record.current()
        if record is not None:
            record.operation = self._label
            record.operation_type = self._type
            record.outcome = outcome
            record.audience = audience
            record.document_hash = document_hash(ec.query)
            client = getattr(ctx, "client_address", None)
            record.client = client if isinstance(client, str) else None
        span = self._span
        if span is not None:
            span.update_name(f"{self._type} {self._label}")
            span.set_attribute("graphql.operation.name", self._label)
            span.set_attribute("graphql.operation.type", self._type)
            span.set_attribute("graphql.outcome", outcome)
            span.set_attribute("sigma.audience", audience)
            if record is not None and record.cost is not None:
                span.set_attribute("sigma.cost", record.cost)
            if record is not None:
                record.trace_id = format(span.get_span_context().trace_id, "032x")
            if codes:
                span.set_attribute("graphql.error.codes", codes)
                span.set_status(Status(StatusCode.ERROR, codes[0]))
            span.end()


def observer_factory(max_names: int) -> type[OperationObserver]:
    """The extension class for one schema, with its own bounded set of operation names."""
    return type("OperationObserver", (OperationObserver,), {"names": OperationNames(max_names)})
