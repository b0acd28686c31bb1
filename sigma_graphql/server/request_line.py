"""The end of one HTTP request to /graphql: the request log line, the slow-operation line and
the per-request database metrics (docs/operations.md). Called by the view
(sigma_graphql/server/app.py) once the answer is built."""

from __future__ import annotations

from typing import Any

from db.drivers import roundtrips
from db.drivers.roundtrips import RoundTrips
from sigma_graphql.core.requestid import current_request_id
from sigma_graphql.core.settings import Settings
from sigma_graphql.observability import request_log
from sigma_graphql.observability.request_record import RequestRecord


def _client(request: Any, record: RequestRecord) -> str | None:
    if record.client is not None:
        return record.client
    client = getattr(request, "client", None)
    return getattr(client, "host", None)


def finish(
    request: Any, settings: Settings, record: RequestRecord, counter: RoundTrips, status: int
) -> None:
    duration_ms = round(record.elapsed_s() * 1000, 3)
    roundtrips.observe_request(counter)
    fields: dict[str, Any] = {
        "request_id": current_request_id(),
        "trace_id": record.trace_id,
        "operation": record.operation,
        "operation_type": record.operation_type,
        "audience": record.audience,
        "duration_ms": duration_ms,
        "round_trips": counter.as_dict(),
        "db_ms": {
            "mongo": round(counter.mongo_s * 1000, 3),
            "cassandra": round(counter.cassandra_s * 1000, 3),
        },
        "cost": record.cost,
        "outcome": record.outcome,
        "status": status,
        "client": _client(request, record),
    }
    request_log.write_request(fields)
    if settings.slow_operation_ms > 0 and duration_ms > settings.slow_operation_ms:
        request_log.write_slow(
            {
                "request_id": fields["request_id"],
                "trace_id": record.trace_id,
                "operation": record.operation,
                "operation_type": record.operation_type,
                "document_hash": record.document_hash,
                "duration_ms": duration_ms,
                "round_trips": fields["round_trips"],
                "threshold_ms": settings.slow_operation_ms,
            }
        )
