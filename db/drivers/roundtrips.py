"""Counts database round trips per request by instrumenting both drivers, and times every call.

A ContextVar holds the counter of the request being served; the Mongo command listener and the
Cassandra adapter add to it. Tests assert on these counts instead of timings.

The same hooks serve observability (docs/operations.md): every call is timed into the request's
counter (the request log line, the per-request metrics) and into the per-kind histogram, and,
while tracing is on, becomes a child span of the current span (the operation or a DataLoader
batch). A call's kind is the command or statement verb with its collection or table
(`find umkm_profiles`, `SELECT umkm_financial_log`), never a value.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from sigma_graphql.observability import metrics, tracing

MONGO = "mongo"
CASSANDRA = "cassandra"


@dataclass
class RoundTrips:
    mongo: int = 0
    cassandra: int = 0
    mongo_s: float = 0.0
    cassandra_s: float = 0.0

    @property
    def total(self) -> int:
        return self.mongo + self.cassandra

    def as_dict(self) -> dict[str, int]:
        return {"mongo": self.mongo, "cassandra": self.cassandra, "total": self.total}


_current: ContextVar[RoundTrips | None] = ContextVar("sigma_round_trips", default=None)


def start() -> tuple[RoundTrips, Token[RoundTrips | None]]:
    counter = RoundTrips()
    return counter, _current.set(counter)


def stop(token: Token[RoundTrips | None]) -> None:
    _current.reset(token)


def current() -> RoundTrips | None:
    return _current.get()


def count_mongo() -> None:
    counter = _current.get()
    if counter is not None:
        counter.mongo += 1


def count_cassandra() -> None:
    counter = _current.get()
    if counter is not None:
        counter.cassandra += 1


def observe_request(counter: RoundTrips) -> None:
    """The per-request metrics, once the request is answered."""
    metrics.labeled(metrics.DB_REQUEST_ROUND_TRIPS, MONGO).observe(counter.mongo)
    metrics.labeled(metrics.DB_REQUEST_ROUND_TRIPS, CASSANDRA).observe(counter.cassandra)
    metrics.labeled(metrics.DB_REQUEST_SECONDS, MONGO).observe(counter.mongo_s)
    metrics.labeled(metrics.DB_REQUEST_SECONDS, CASSANDRA).observe(counter.cassandra_s)


def record_call(
    database: str, kind: str, seconds: float, counter: RoundTrips | None = None
) -> None:
    """A finished call: its time into the request's counter and the per-kind histogram."""
    counter = counter if counter is not None else _current.get()
    if counter is not None:
        if database == MONGO:
            counter.mongo_s += seconds
        else:
            counter.cassandra_s += seconds
    metrics.labeled(metrics.DB_CALL_SECONDS, database, kind).observe(seconds)


# -- Mongo: started / succeeded / failed events of pymongo's command listener -------------------


def mongo_kind(command_name: str, collection: object) -> str:
    return f"{command_name} {collection}" if isinstance(collection, str) else command_name


def mongo_span(kind: str, database_name: str) -> Span | None:
    """The span of a command being sent (started event, in the caller's context)."""
    return tracing.start_span(
        f"mongo {kind}",
        {"db.system": "mongodb", "db.name": database_name, "db.operation": kind},
        kind=SpanKind.CLIENT,
    )


def mongo_done(kind: str, span: Span | None, micros: int, failure: str | None = None) -> None:
    record_call(MONGO, kind, micros / 1e6)
    if span is not None:
        if failure is not None:  # the server's code name or the driver's error type
            span.set_status(Status(StatusCode.ERROR, failure))
        span.end()


# -- Cassandra: around each statement of db/drivers/cassandra.py --------------------------------

_STATEMENT = re.compile(
    r"^\s*(SELECT\b.*?\bFROM|INSERT\s+INTO|UPDATE|DELETE\b.*?\bFROM|BEGIN\s+\w*\s*BATCH|"
    r"CREATE\s+\w+(?:\s+IF\s+NOT\s+EXISTS)?|ALTER\s+\w+|TRUNCATE|DROP\s+\w+(?:\s+IF\s+EXISTS)?)"
    r"\s*([A-Za-z_][A-Za-z0-9_.]*)?",
    re.IGNORECASE | re.DOTALL,
)
_names: dict[str, str] = {}


def statement_name(cql: str) -> str:
    """`SELECT umkm_financial_log`: the verb and the table, never a value of the statement."""
    name = _names.get(cql)
    if name is None:
        match = _STATEMENT.match(cql)
        if match is None:
            name = "OTHER"
        else:
            verb = match.group(1).split()[0].upper()
            table = match.group(2) or ""
            name = f"{verb} {table}".strip() if verb != "BEGIN" else "BATCH"
        if len(_names) < 10_000:  # our own statements: a few hundred texts
            _names[cql] = name
    return name


@contextmanager
def cassandra_call(cql: str) -> Iterator[None]:
    kind = statement_name(cql)
    counter = _current.get()
    started = time.perf_counter()
    attributes = {"db.system": "cassandra", "db.operation": kind, "db.statement.name": kind}
    with tracing.span(f"cassandra {kind}", attributes, kind=SpanKind.CLIENT):
        try:
            yield
        finally:
            record_call(CASSANDRA, kind, time.perf_counter() - started, counter)
