"""Every Prometheus metric of the service, defined once, and the /metrics exposition.

Multi-process (uvicorn --workers N): prometheus-client keeps each worker's values in files under
PROMETHEUS_MULTIPROC_DIR when that variable is set *before* the library is imported (the
`sigma-graphql serve` command sets it for several workers, see sigma_graphql/commands/cli.py);
`render()` then aggregates every worker's files with a MultiProcessCollector, and each worker calls
`process_exit()` when it stops (the library's `mark_process_dead`, which drops its live gauges).
The process collectors (CPU, memory, file descriptors) cannot be aggregated across processes:
in that mode they describe the worker that answered the scrape.

Labels never carry user data, ids or variables: operation names pass through `OperationNames`
(a bounded set per process), databases and query kinds come from our own code (collection and
table names), audiences and error codes are closed sets.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds: from a cached answer (tens of microseconds) to a slow analytics query.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_COUNT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100, 200, 500)
_COST_BUCKETS = (1, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000)

OPERATIONS = Counter(
    "sigma_graphql_operations",
    "GraphQL operations by name, type and outcome (ok, userErrors or the first error's code)",
    ["operation", "type", "outcome"],
)
OPERATION_ERRORS = Counter(
    "sigma_graphql_operation_errors",
    "Errors in GraphQL answers, one per error, by operation and extensions.code",
    ["operation", "code"],
)
OPERATION_LATENCY = Histogram(
    "sigma_graphql_operation_duration_seconds",
    "Time from parsing to the answer of one GraphQL operation",
    ["operation", "type"],
    buckets=_LATENCY_BUCKETS,
)
OPERATION_COST = Histogram(
    "sigma_graphql_operation_cost",
    "Static cost charged to the budget per operation (sigma_graphql/limits/cost.py)",
    ["audience"],
    buckets=_COST_BUCKETS,
)
BUDGET_REFUSALS = Counter(
    "sigma_graphql_budget_refusals",
    "Operations refused by cost limits: reason rate_limited (budget empty) or too_complex",
    ["audience", "reason"],
)
DB_CALL_SECONDS = Histogram(
    "sigma_db_call_duration_seconds",
    "One database call (Mongo command, Cassandra statement) by database and query kind",
    ["database", "kind"],
    buckets=_DB_BUCKETS,
)
DB_REQUEST_ROUND_TRIPS = Histogram(
    "sigma_db_round_trips_per_request",
    "Database round trips of one HTTP request by database",
    ["database"],
    buckets=_COUNT_BUCKETS,
)
DB_REQUEST_SECONDS = Histogram(
    "sigma_db_time_per_request_seconds",
    "Time spent waiting for one database during one HTTP request (calls may overlap)",
    ["database"],
    buckets=_LATENCY_BUCKETS,
)
DATABASE_UP = Gauge(
    "sigma_database_up",
    "1 when the database answered the last readiness check (/ready, /metrics), else 0",
    ["database"],
    multiprocess_mode="livemostrecent",
)
EVENT_BROKER_UP = Gauge(
    "sigma_event_broker_up",
    "1 when this process is connected to NATS (events reach other processes), else 0",
    multiprocess_mode="livemostrecent",
)
DATALOADER_BATCH = Histogram(
    "sigma_dataloader_batch_size",
    "Keys per DataLoader batch, by loader",
    ["loader"],
    buckets=_COUNT_BUCKETS,
)
CACHE_EVENTS = Counter(
    "sigma_public_cache_events",
    "Public answer cache (sigma_graphql/limits/response_cache.py): hit, miss, eviction",
    ["event"],
)
LOGIN_FAILURES = Counter("sigma_login_failures", "Failed logins (wrong e-mail or password)")
LOGIN_LOCKOUTS = Counter(
    "sigma_login_lockouts", "Logins refused by the failed-login limit (db/login_guard.py)"
)
SUBSCRIPTIONS_OPEN = Gauge(
    "sigma_subscriptions_open",
    "Subscriptions being served",
    multiprocess_mode="livesum",
)
SUBSCRIPTION_EVENTS = Counter(
    "sigma_subscription_events_delivered", "Events sent to subscribers", ["operation"]
)
EVENT_BUS_LAG = Histogram(
    "sigma_event_bus_lag_seconds",
    "From an event's publication on another process to its delivery here, by kind of topic",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)
DISCONNECTS = Counter(
    "sigma_client_disconnects", "Requests whose client went away before the answer was sent"
)

# The labels given for operations without a usable name; parentheses cannot occur in GraphQL
# names, so no client can collide with them.
M = TypeVar("M", Counter, Gauge, Histogram)
_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def labeled(metric: M, *values: str) -> M:
    """`metric.labels(*values)`, kept: prometheus_client checks the label values and takes a
    lock on every `labels` call (about ten Python calls), and the request path asks for the same
    few children on every request. The children live as long as their metric (module level,
    never cleared), so keeping them changes nothing but the cost."""
    key = (id(metric), values)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*values)
    return child  # type: ignore[no-any-return]


ANONYMOUS = "(anonymous)"
INVALID = "(invalid)"
OTHER = "(other)"
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")


class OperationNames:
    """The operation label: the name in the document, while this process has seen fewer than
    `limit` distinct names; later newcomers share OTHER, so a client inventing names cannot grow
    the number of series without bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if name in self._known:
            return name
        if not _NAME.match(name):
            return OTHER
        with self._lock:
            if len(self._known) >= self.limit:
                return OTHER
            self._known.add(name)
        return name


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render() -> bytes:
    """The exposition text of every metric (all workers' when multi-process)."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return generate_latest(registry)


def process_exit() -> None:
    """Called when a worker stops: its live gauges leave the aggregate."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def prepare_multiprocess_dir(path: str) -> None:
    """Before the workers start: an empty directory (prometheus-client's documentation: values
    left by an earlier run would be added to this one's)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
