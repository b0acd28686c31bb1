"""Schema extensions that run once per operation (never per field: per-field hooks cost, see
bench/README.md).

- ErrorPolicy: keeps client errors (AppError) as they are, turns database outages into
  SERVICE_UNAVAILABLE (with the database and `retryAfter` seconds), and request errors (syntax,
  validation, variable coercion: see is_request_error) into QUERY_TOO_COMPLEX for limit
  violations and BAD_USER_INPUT otherwise, without logging them; masks everything else as
  "Internal server error" with the request id. HTTP answers and WebSocket messages alike
  (on_stream_result).
- SafeParserCache: Strawberry's ParserCache, except that a syntax error (or the token limit)
  becomes a request error like a validation error instead of escaping the extension hooks.
- RoundTripReporter: adds extensions.dbRoundTrips (tests and benchmarks only).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSyntaxError, VariableDefinitionNode
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.types.execution import ExecutionResult, StreamExecutionResult

from db.drivers import outages, roundtrips
from sigma_graphql.core import errors
from sigma_graphql.core.i18n import register, t

log = logging.getLogger("sigma_graphql.core.errors")

_LIMIT_MARKERS = ("exceeds maximum operation depth", "aliases found", "more than", "tokens")
DETAIL_MAX = 300  # characters of graphql-core's message kept in a request error

# graphql-core's messages stay as they are in English (clients and tools know them); in
# Indonesian a sentence in front says what kind of problem it is.
register(
    {
        "request_syntax": ("Kesalahan sintaks pada kueri: {detail}", "{detail}"),
        "request_invalid": ("Kueri tidak valid: {detail}", "{detail}"),
        "request_too_complex": ("Kueri terlalu kompleks: {detail}", "{detail}"),
        "request_variable": ("Nilai variabel ${variable} tidak valid: {detail}", "{detail}"),
    }
)


def _context_of(ext: SchemaExtension) -> Any:
    return ext.execution_context.context


def is_request_error(error: GraphQLError) -> bool:
    """Raised while parsing, validating or coercing variables: a problem of the client's
    document or variables, never a server fault. Those errors carry a place in the document and
    no path; errors of resolvers always have a path, and failures of extensions or of the
    server around execution carry no place in the document."""
    if isinstance(error, GraphQLSyntaxError):
        return True
    if error.path is not None:
        return False
    return error.original_error is None or bool(error.nodes)


def _detail(message: str) -> str:
    # graphql-core quotes the offending value: a 2 MB literal is not sent back.
    return message if len(message) <= DETAIL_MAX else message[: DETAIL_MAX - 1] + "…"


def _request_error(error: GraphQLError, lang: str, request_id: str) -> GraphQLError:
    detail = _detail(error.message)
    lowered = detail.lower()
    extra: dict[str, Any] = {}
    if any(m in lowered for m in _LIMIT_MARKERS) and (
        "depth" in lowered or "alias" in lowered or "token" in lowered
    ):
        code, message = errors.QUERY_TOO_COMPLEX, t("request_too_complex", lang, detail=detail)
    elif isinstance(error, GraphQLSyntaxError):
        code, message = errors.BAD_USER_INPUT, t("request_syntax", lang, detail=detail)
    elif error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
        variable = error.nodes[0].variable.name.value
        code = errors.BAD_USER_INPUT
        message = t("request_variable", lang, variable=variable, detail=detail)
        extra["variable"] = variable
    else:
        code, message = errors.BAD_USER_INPUT, t("request_invalid", lang, detail=detail)
    return GraphQLError(
        message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions={**(error.extensions or {}), **extra, "code": code, "requestId": request_id},
    )


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
    if original is None and (error.extensions or {}).get("code") in errors.CODES:
        # Classified already (a streamed result seen twice, a transport's own error).
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"requestId": request_id, **(error.extensions or {})},
        )
    down = outages.unavailable_database(original)
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
                "retryAfter": outages.retry_after(original),
                "requestId": request_id,
            },
        )
    if is_request_error(error):
        return _request_error(error, lang, request_id)
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
    if original is None or isinstance(original, errors.AppError) or is_request_error(error):
        return
    if outages.unavailable_database(original) is not None:
        log.warning("request %s: database unavailable: %s", request_id, original)
        return
    log.error("request %s: unexpected error at %s", request_id, error.path, exc_info=original)


class ErrorPolicy(SchemaExtension):
    def __init__(self) -> None:
        self._streamed = False

    def _classify(self, result: object) -> None:
        if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
            ctx = _context_of(self)
            lang = getattr(ctx, "lang", "id")
            rid = getattr(ctx, "request_id", "-")
            result.errors = [classify(e, lang, rid) for e in result.errors]

    def on_operation(self) -> Iterator[None]:
        yield
        if not self._streamed:
            self._classify(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # WebSocket operations: each result is classified before it is sent.
        self._streamed = True
        self._classify(result)
        yield


class SafeParserCache(ParserCache):
    """ParserCache raises a syntax error out of its on_parse hook, past ErrorPolicy (no code,
    no requestId) and, over WebSocket, past the handler (a logged traceback, no answer). Here
    a document that does not parse is left to Strawberry's own parse, which reports it as a
    pre-execution error; parsing it twice costs little next to the token limit."""

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        with contextlib.suppress(GraphQLError):
            ec.graphql_document = self.cached_parse_document(ec.query, **ec.parse_options)
        yield


class RoundTripReporter(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        counter = roundtrips.current()
        return {"dbRoundTrips": counter.as_dict()} if counter is not None else {}
