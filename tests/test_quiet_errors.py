"""Small leaks and log noise (issue 11, finding 7): no schema suggestions when introspection is
off, /ready without addresses or driver text, and no ERROR tracebacks for client mistakes
(a subscription over HTTP, an anonymous subscription, a client leaving mid-request)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from graphql import parse

from schema.build import build_schema
from sigma_graphql.core.settings import Settings
from sigma_graphql.execution.suggestions import quiet_execute
from tests.support import Api, LiveServer, free_port, logs_into

TYPOS = [
    "{ umkmz { id } }",  # field
    "{ umkms(frist: 1) { nodes { id } } }",  # argument
    "{ verificationTasks(status: VERIFED) { nodes { id } } }",  # enum value
    "query($r: Rolle) { users(role: $r) { nodes { id } } }",  # type
    'mutation { login(input: {emial: "a@b.id", password: "x"}) { token } }',  # input field
]


class _Records(logging.Handler):
    """Every record of the app, Strawberry and uvicorn (whose loggers do not propagate)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def faults(self) -> list[str]:
        return [
            f"{r.name} {r.levelname} {r.getMessage()}"
            for r in self.records
            if r.levelno >= logging.ERROR or r.exc_info
        ]


@pytest.fixture
def records() -> Iterator[_Records]:
    handler = _Records()
    with logs_into(handler, ("", "uvicorn", "uvicorn.error"), logging.DEBUG):
        yield handler


async def test_no_suggestions_when_introspection_is_off(
    server_factory: Callable[..., LiveServer],
) -> None:
    closed = Api(server_factory(introspection=False))
    open_ = Api(server_factory(introspection=True))
    for typo in TYPOS:
        hidden = await closed(typo)
        assert hidden.errors, typo
        assert not any("Did you mean" in e["message"] for e in hidden.errors), hidden.errors
        assert hidden.error_codes == ["BAD_USER_INPUT"] * len(hidden.errors)
    # With introspection on the schema is public anyway and suggestions help developers.
    shown = await open_(TYPOS[0])
    assert "Did you mean 'umkm'" in shown.errors[0]["message"]


def test_variable_errors_carry_no_suggestions_when_introspection_is_off() -> None:
    closed = build_schema(Settings(introspection=False))
    assert closed._get_execute_function() is quiet_execute
    assert build_schema(Settings(introspection=True))._get_execute_function() is not quiet_execute
    document = parse(
        "query($s: VerificationStatus) { verificationTasks(status: $s) { nodes { id } } }"
    )
    result = quiet_execute(closed._schema, document, variable_values={"s": "VERIFED"})
    assert result.errors and "VERIFED" in result.errors[0].message
    assert "Did you mean" not in result.errors[0].message


async def test_ready_names_the_database_and_logs_the_detail(
    migrated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    dead = free_port()  # nothing listens there
    live = LiveServer(
        migrated.with_overrides(mongo_uri=f"mongodb://127.0.0.1:{dead}", mongo_timeout_ms=300)
    ).start()
    try:
        with caplog.at_level(logging.WARNING, logger="sigma_graphql.server.app"):
            async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
                ready = await http.get("/ready")
    finally:
        live.stop()
    assert ready.status_code == 503
    checks = {"mongodb": "unavailable", "cassandra": "ok", "nats": "ok"}  # nats: issue 17
    assert ready.json() == {"ready": False, "checks": checks}
    assert str(dead) not in ready.text and "127.0.0.1" not in ready.text
    detail = [r.getMessage() for r in caplog.records if r.name == "sigma_graphql.server.app"]
    assert any("mongodb not ready" in m and str(dead) in m for m in detail), detail


async def test_subscriptions_over_http_are_a_client_error(
    server: LiveServer, records: _Records
) -> None:
    document = {"query": "subscription { notificationAdded { id } }"}
    async with httpx.AsyncClient(base_url=server.base) as http:
        for answer in (
            await http.post("/graphql", json=document),
            await http.get("/graphql", params=document),
            await http.post("/graphql", json=document, headers={"Accept-Language": "en"}),
        ):
            body = answer.json()
            assert body["data"] is None
            [error] = body["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
            assert "WebSocket" in error["message"]
    assert "only available over a WebSocket" in error["message"]
    assert records.faults == []


async def test_anonymous_subscription_is_refused_without_a_traceback(
    server: LiveServer, records: _Records
) -> None:
    transport = WebsocketsTransport(
        url=server.ws_url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
    )
    with pytest.raises(TransportQueryError) as refused:
        async with Client(transport=transport) as session:
            async for _ in session.subscribe(gql("subscription { notificationAdded { id } }")):
                break
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert records.faults == []


async def test_client_leaving_mid_request_is_not_a_fault(
    server: LiveServer, records: _Records
) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"query": '
        )
        await asyncio.sleep(0.2)  # the server is waiting for the rest of the body
    # The server noticed (its log says so), without a traceback.
    for _ in range(500):
        if any("client left" in r.getMessage() for r in records.records):
            break
        await asyncio.sleep(0.01)
    assert any("client left" in r.getMessage() for r in records.records)
    assert records.faults == []
    async with httpx.AsyncClient(base_url=server.base) as http:
        assert (await http.get("/health")).text == "ok"
