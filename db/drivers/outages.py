"""Which driver exceptions mean "the database did not answer" (SERVICE_UNAVAILABLE upstream),
and how long a client should wait before retrying."""

from __future__ import annotations

from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

from db.drivers import cassandra

MONGO_DOWN: tuple[type[BaseException], ...] = (
    ServerSelectionTimeoutError,
    AutoReconnect,
    ConnectionFailure,
)
CASSANDRA_DOWN: tuple[type[BaseException], ...] = cassandra.OUTAGES


def _outage(exc: BaseException | None) -> tuple[str, BaseException] | None:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, MONGO_DOWN):
            return "mongodb", exc
        if isinstance(exc, CASSANDRA_DOWN):
            return "cassandra", exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def unavailable_database(exc: BaseException | None) -> str | None:
    """'mongodb' or 'cassandra' when exc (or its cause chain) is a database outage."""
    found = _outage(exc)
    return found[0] if found is not None else None


# A client told nothing better retries after this many seconds (the probe's usual interval).
DEFAULT_RETRY_AFTER_S = 1


def retry_after(exc: BaseException | None) -> int:
    """Seconds before a retry of an operation that failed on an outage can succeed: what an
    open circuit says (db/drivers/breaker.py), else DEFAULT_RETRY_AFTER_S."""
    found = _outage(exc)
    seconds = getattr(found[1], "retry_after", None) if found is not None else None
    return seconds if isinstance(seconds, int) and seconds > 0 else DEFAULT_RETRY_AFTER_S
