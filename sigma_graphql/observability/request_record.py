"""What one HTTP request did, collected while it runs and written once at its end: the request
log line (sigma_graphql/observability/request_log.py) and the per-request metrics.

A ContextVar holds the record of the request being served, like the round-trip counter
(db/drivers/roundtrips.py); the operation hook (sigma_graphql/execution/observe.py) and the cost
limiter fill it in.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token
from dataclasses import dataclass, field


@dataclass
class RequestRecord:
    started: float = field(default_factory=time.perf_counter)
    operation: str | None = None  # the metric label (bounded), never the raw name
    operation_type: str | None = None
    audience: str | None = None
    cost: int | None = None
    outcome: str | None = None
    document_hash: str | None = None
    trace_id: str | None = None
    client: str | None = None

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


_current: ContextVar[RequestRecord | None] = ContextVar("sigma_request_record", default=None)


def start() -> tuple[RequestRecord, Token[RequestRecord | None]]:
    record = RequestRecord()
    return record, _current.set(record)


def stop(token: Token[RequestRecord | None]) -> None:
    _current.reset(token)


def current() -> RequestRecord | None:
    return _current.get()
