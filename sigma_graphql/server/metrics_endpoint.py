"""GET /metrics: the Prometheus exposition (sigma_graphql/observability/metrics.py).

Not public: served only when SIGMA_METRICS_TOKEN is set, and only to a request carrying it as
`Authorization: Bearer <token>` (404 otherwise, so the endpoint does not advertise itself).
Before rendering it asks both databases the same question as /ready, so `sigma_database_up`
and /ready always name the same database as down (and `sigma_event_broker_up` agrees with
/ready's `nats` entry).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sigma_graphql.observability import metrics
from sigma_graphql.request.headers import header

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 1.0


def record_readiness(checks: Mapping[str, str], broker: str | None) -> None:
    """The databases' checks and the NATS connection's status ("ok" or "degraded"; None when
    NATS is off), as /ready reports them."""
    for name, detail in checks.items():
        metrics.DATABASE_UP.labels(name).set(1 if detail == "ok" else 0)
    if broker is not None:
        metrics.EVENT_BROKER_UP.set(1 if broker == "ok" else 0)


def broker_status(request: Request) -> str | None:
    bus = request.app.state.event_bus
    return None if bus is None else str(bus.status)


def authorized(request: Request, token: str | None) -> bool:
    if token is None:
        return False
    given = header(request, b"authorization") or ""
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


async def metrics_endpoint(request: Request) -> Response:
    if not authorized(request, request.app.state.settings.metrics_token):
        return PlainTextResponse("Not Found", status_code=404)
    checks = await request.app.state.dbs.check(timeout_s=READY_TIMEOUT_S)
    record_readiness(checks, broker_status(request))
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
