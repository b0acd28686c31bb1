"""Error types with extensions.code (docs/architecture.md, Errors)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, Node

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
RATE_LIMITED = "RATE_LIMITED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
# Persisted operations (sigma_graphql/server/persisted_queries.py). The first is Apollo's
# automatic-persisted-query code, which its clients answer by sending the document.
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"
# The documented set (docs/architecture.md, Errors): every error a client receives carries one
# of these.
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
        PERSISTED_QUERY_NOT_FOUND,
        PERSISTED_QUERY_HASH_MISMATCH,
        TRUSTED_DOCUMENT_REQUIRED,
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
