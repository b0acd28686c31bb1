"""Error types with extensions.code (CONVENTIONS §6) and the mapping of driver failures."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, Node
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

from db import cassandra

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
RATE_LIMITED = "RATE_LIMITED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
# The documented set (CONVENTIONS §6): every error a client receives carries one of these.
CODES = frozenset(
    {
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        BAD_USER_INPUT,
        RATE_LIMITED,
        QUERY_TOO_COMPLEX,
        SERVICE_UNAVAILABLE,
        INTERNAL_SERVER_ERROR,
    }
)


class AppError(GraphQLError):
    """An error meant for the client: its message and extensions are shown as they are."""

    def __init__(
        self, message: str, code: str, *, nodes: Node | list[Node] | None = None, **extra: Any
    ) -> None:
        # nodes: where in the document the problem is (errors raised before execution)
        super().__init__(message, nodes, extensions={"code": code, **extra})
        self.code = code


def unauthenticated(message: str = "Silakan masuk terlebih dahulu") -> AppError:
    return AppError(message, UNAUTHENTICATED)


def forbidden(message: str = "Anda tidak memiliki akses") -> AppError:
    return AppError(message, FORBIDDEN)


def not_found(message: str = "Data tidak ditemukan") -> AppError:
    return AppError(message, NOT_FOUND)


def bad_input(message: str, **extra: Any) -> AppError:
    return AppError(message, BAD_USER_INPUT, **extra)


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
    open circuit says (db/breaker.py), else DEFAULT_RETRY_AFTER_S."""
    found = _outage(exc)
    seconds = getattr(found[1], "retry_after", None) if found is not None else None
    return seconds if isinstance(seconds, int) and seconds > 0 else DEFAULT_RETRY_AFTER_S
