"""Schema extensions that run once per operation (never per field, see bench notes §2.3).

- ErrorPolicy: keeps client errors (AppError) as they are, turns database outages into
  SERVICE_UNAVAILABLE (with the database and `retryAfter` seconds), limit violations into
  QUERY_TOO_COMPLEX, other validation errors into BAD_USER_INPUT, and masks everything else
  as "Internal server error" with the request id.
- RoundTripReporter: adds extensions.dbRoundTrips (tests and benchmarks only).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from db import roundtrips
from sigma_graphql import errors
from sigma_graphql.i18n import t

log = logging.getLogger("sigma_graphql.errors")

_LIMIT_MARKERS = ("exceeds maximum operation depth", "aliases found", "more than", "tokens")


def _context_of(ext: SchemaExtension) -> Any:
    return ext.execution_context.context


def classify(error: GraphQLError, lang: str, request_id: str) -> GraphQLError:
    """The error as the client should see it."""
    original = error.original_error
    if isinstance(error, errors.AppError) or isinstance(original, errors.AppError):
        app = original if isinstance(original, errors.AppError) else error
        return GraphQLError(
            app.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={**(app.extensions or {}), "requestId": request_id},
        )
    down = errors.unavailable_database(original)
    if down is not None:
        return GraphQLError(
            t("db_unavailable", lang, db=down),
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={
                "code": errors.SERVICE_UNAVAILABLE,
                "database": down,
                "retryAfter": errors.retry_after(original),
                "requestId": request_id,
            },
        )
    if original is None:
        # Parse/validation errors from graphql-core: the message is safe and useful.
        lowered = error.message.lower()
        code = (
            errors.QUERY_TOO_COMPLEX
            if any(m in lowered for m in _LIMIT_MARKERS)
            and ("depth" in lowered or "alias" in lowered or "token" in lowered)
            else errors.BAD_USER_INPUT
        )
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={**(error.extensions or {}), "code": code, "requestId": request_id},
        )
    if isinstance(original, ValueError) and "Rupiah" in str(original):
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": errors.BAD_USER_INPUT, "requestId": request_id},
        )
    return GraphQLError(
        t("internal", "en"),
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions={"code": errors.INTERNAL_SERVER_ERROR, "requestId": request_id},
    )


def log_unexpected(error: GraphQLError, request_id: str) -> None:
    original = error.original_error
    if original is None or isinstance(original, errors.AppError):
        return
    if errors.unavailable_database(original) is not None:
        log.warning("request %s: database unavailable: %s", request_id, original)
        return
    log.error("request %s: unexpected error at %s", request_id, error.path, exc_info=original)


class ErrorPolicy(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
            ctx = _context_of(self)
            lang = getattr(ctx, "lang", "id")
            rid = getattr(ctx, "request_id", "-")
            result.errors = [classify(e, lang, rid) for e in result.errors]


class RoundTripReporter(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        counter = roundtrips.current()
        return {"dbRoundTrips": counter.as_dict()} if counter is not None else {}
