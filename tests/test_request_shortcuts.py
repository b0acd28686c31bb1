"""The request path's shortcuts give what the library functions they replace give (issue 16):
request headers from one dict per request (sigma_graphql/request/headers.py), the operation's
name and type read once per document (sigma_graphql/execution/execution_context.py), and
Strawberry's content-type parser remembered (sigma_graphql/server/http_protocol.py)."""

from __future__ import annotations

import pytest
from graphql import parse
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from strawberry.http import async_base_view
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionContext

from schema.build import build_schema
from sigma_graphql.core.requestid import RequestIdMiddleware, current_request_id
from sigma_graphql.core.settings import load_settings
from sigma_graphql.execution.execution_context import SigmaExecutionContext
from sigma_graphql.request.headers import header
from sigma_graphql.server import http_protocol

RAW_HEADERS = [
    (b"accept", b"application/json"),
    (b"x-api-key", b"first"),
    (b"content-type", b"application/json; charset=utf-8"),
    (b"x-api-key", b"second"),
    (b"x-name", "Dépôt".encode("latin-1")),
]


def _request() -> Request:
    return Request({"type": "http", "method": "POST", "headers": list(RAW_HEADERS)})


@pytest.mark.parametrize("name", ["accept", "x-api-key", "content-type", "x-name", "missing"])
def test_a_header_is_what_starlette_gives(name: str) -> None:
    request = _request()
    assert header(request, name.encode()) == request.headers.get(name)


def test_headers_are_read_into_one_dict_per_request() -> None:
    request = _request()
    assert header(request, b"x-api-key") == "first"  # the first of a repeated header
    kept = request.scope["sigma.headers"]
    assert header(request, b"accept") == "application/json"
    assert request.scope["sigma.headers"] is kept
    # Another request (another scope) reads its own headers.
    other = Request({"type": "http", "method": "GET", "headers": [(b"x-api-key", b"other")]})
    assert header(other, b"x-api-key") == "other"
    assert header(other, b"accept") is None


async def test_the_request_id_middleware_reads_the_header_as_the_view_does() -> None:
    """One dict per request for the middlewares and the view: a repeated X-Request-ID gives
    its first value everywhere (the middleware took the last one when it built its own)."""
    seen: dict[str, object] = {}

    async def view(scope: Scope, receive: Receive, send: Send) -> None:
        seen["id"] = current_request_id()
        seen["header"] = header(Request(scope), b"x-request-id")
        seen["dict"] = scope["sigma.headers"]

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    pairs = [(b"x-request-id", b"first-id"), (b"accept", b"*/*"), (b"x-request-id", b"second-id")]
    scope: Scope = {"type": "http", "method": "GET", "headers": pairs}
    await RequestIdMiddleware(view)(scope, receive, send)
    assert seen["id"] == seen["header"] == "first-id"
    assert seen["dict"] is scope["sigma.headers"]  # built once, by the outermost reader


ONE = "query First { umkms { totalCount } }"
TWO = "query A { umkms { totalCount } } mutation B { logout { ok } }"
ANONYMOUS = "{ umkms { totalCount } }"


def _contexts(query: str, name: str | None) -> tuple[ExecutionContext, ExecutionContext]:
    schema = build_schema(load_settings())
    stock = ExecutionContext(query, schema, (), provided_operation_name=name)
    ours = SigmaExecutionContext(query, schema, (), provided_operation_name=name)
    return stock, ours


@pytest.mark.parametrize(
    ("query", "name"),
    [(ONE, None), (ONE, "First"), (TWO, None), (TWO, "A"), (TWO, "B"), (ANONYMOUS, None)],
)
def test_operation_name_and_type_are_strawberrys(query: str, name: str | None) -> None:
    stock, ours = _contexts(query, name)
    assert ours.operation_name == stock.operation_name  # no document yet: the given name
    stock.graphql_document = ours.graphql_document = parse(query)
    for _ in range(2):  # the second read comes from what the first kept
        assert ours.operation_name == stock.operation_name
        assert ours.operation_type == stock.operation_type


def test_a_new_document_is_read_again() -> None:
    _, ours = _contexts(TWO, None)
    ours.graphql_document = parse(TWO)
    assert (ours.operation_name, ours.operation_type.value) == ("A", "query")
    ours.graphql_document = parse("mutation Out { logout { ok } }")
    assert (ours.operation_name, ours.operation_type.value) == ("Out", "mutation")


def test_an_unknown_operation_fails_on_every_read() -> None:
    stock, ours = _contexts(TWO, "Missing")
    stock.graphql_document = ours.graphql_document = parse(TWO)
    for context in (stock, ours, ours):
        with pytest.raises(RuntimeError):
            _ = context.operation_type


@pytest.mark.parametrize(
    "value",
    ["application/json", "application/json; charset=utf-8", "multipart/form-data; boundary=x", ""],
)
def test_the_view_parses_content_types_through_the_remembered_parser(value: str) -> None:
    assert async_base_view.parse_content_type is http_protocol.parse_content_type  # type: ignore[attr-defined]
    assert http_protocol.parse_content_type(value) == parse_content_type(value)
    assert http_protocol.parse_content_type(value) is http_protocol.parse_content_type(value)
