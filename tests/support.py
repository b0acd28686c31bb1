"""Test support: a live server on a free port, a GraphQL client over HTTP, data factories.

Everything talks to the real MongoDB and Cassandra servers started by `make test`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import uvicorn
from gql import GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from graphql import ExecutionResult

from db import sessions, umkm_profiles, users
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.notifications import topic
from sigma_graphql.core.passwords import hash_password
from sigma_graphql.core.settings import Settings
from sigma_graphql.request.context import Services
from sigma_graphql.server.app import create_app


def drop_keyspace(settings: Settings) -> None:
    """Drops settings' Cassandra keyspace (blocking: run it in an executor from async code)."""
    from db.drivers.cassandra import make_cluster

    cluster = make_cluster(settings)
    try:
        cluster.connect().execute(
            f"DROP KEYSPACE IF EXISTS {settings.cassandra_keyspace}", timeout=60
        )
    finally:
        cluster.shutdown()


async def drop_mongo_database(settings: Settings) -> None:
    """Drops settings' MongoDB database."""
    from db.drivers.mongo import create_client

    client = create_client(settings)
    try:
        await client.drop_database(settings.mongo_db)
    finally:
        await client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real ASGI app served by uvicorn in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.services = Services()
        self.app = create_app(settings, self.services)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Response:
    data: Any
    errors: list[dict[str, Any]]
    extensions: dict[str, Any]
    result: ExecutionResult = field(repr=False)

    @property
    def error_codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code")) for e in self.errors]

    @property
    def round_trips(self) -> int:
        return int(self.extensions["dbRoundTrips"]["total"])

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


class Api:
    """GraphQL over HTTP with the gql client, as a browser or mobile app would."""

    def __init__(
        self, server: LiveServer, token: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.server = server
        self.token = token
        self.headers = dict(headers or {})

    def as_(self, token: str | None) -> Api:
        return Api(self.server, token, self.headers)

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        all_headers = dict(self.headers)
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        transport = HTTPXAsyncTransport(url=self.server.url, headers=all_headers, timeout=60)
        await transport.connect()
        try:
            result = await transport.execute(GraphQLRequest(query, variable_values=variables))
        finally:
            await transport.close()
        return Response(
            result.data,
            [dict(e) for e in cast(list[dict[str, Any]], result.errors or [])],
            dict(result.extensions or {}),
            result,
        )

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.server.base, timeout=60)


@dataclass
class Account:
    doc: MongoDoc
    token: str
    password: str

    @property
    def id(self) -> uuid.UUID:
        return self.doc["_id"]  # type: ignore[no-any-return]

    @property
    def gid(self) -> str:
        return str(self.doc["_id"])


_FAST_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _FAST_HASHES:
        _FAST_HASHES[password] = hash_password(password)
    return _FAST_HASHES[password]


class Factory:
    """Creates rows directly through the repositories (for tests of other features)."""

    def __init__(self, dbs: Databases) -> None:
        self.dbs = dbs
        self.n = 0

    def _next(self) -> int:
        self.n += 1
        return self.n

    async def account(
        self,
        role: str = "UMKM_OWNER",
        *,
        status: str = "ACTIVE",
        password: str = "rahasia-yang-panjang-1",
        wilayah: str | None = None,
        nama: str | None = None,
        session: bool = True,
    ) -> Account:
        n = self._next()
        suffix = uuid.uuid4().hex[:10]
        doc = users.new_user_doc(
            email=f"{role.lower()}-{suffix}@test.sigma",
            password_hash=_hash(password),
            role=role,
            nama=nama or f"{role.title()} {n}",
            account_status=status,
            nik=(f"{int(uuid.uuid4().int % 10**16):016d}" if role == "UMKM_OWNER" else None),
            telepon=f"0812{int(uuid.uuid4().int % 10**8):08d}",
            wilayah=wilayah,
        )
        await users.insert(self.dbs.mongo, doc)
        token = ""
        if session:
            token, _ = await sessions.create(self.dbs.mongo, doc["_id"], 3600)
        return Account(doc, token, password)

    async def umkm(
        self,
        owner: Account | None,
        *,
        status: str = "VERIFIED",
        nama: str | None = None,
        sektor: str = "Kuliner",
        kota: str = "Malang",
        provinsi: str = "Jawa Timur",
        latitude: float | None = -10.17,
        longitude: float | None = 123.60,
        deleted: bool = False,
    ) -> MongoDoc:
        n = self._next()
        doc = umkm_profiles.new_umkm_doc(
            nama_usaha=nama or f"Usaha Uji {n} {uuid.uuid4().hex[:6]}",
            sektor=sektor,
            kota=kota,
            provinsi=provinsi,
            pemilik={
                "nama": "Pemilik Uji",
                "nik": "3573010101010001",
                "telepon": "081234567890",
                "email": "pemilik@test.sigma",
            },
            owner_id=owner.id if owner else None,
            status=status,
            alamat_lengkap="Jl. Rahasia 1",
            latitude=latitude,
            longitude=longitude,
            legalitas={"dokumen_url": "https://dokumen.test/1.pdf"},
        )
        if deleted:
            doc["is_deleted"] = True
        await umkm_profiles.insert(self.dbs.mongo, doc)
        return doc


def run(coro: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coro)


async def wait_subscribed(server: LiveServer, owner_id: uuid.UUID, bound: int = 12_000) -> None:
    """Until `server` has a subscriber to owner_id's notifications: a condition (the server
    registered the subscription), not a timing; `bound` polls only stop a hung client."""
    for _ in range(bound):
        if server.services.pubsub.subscriber_count(topic(owner_id)) > 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never reached the server")


@contextlib.contextmanager
def logs_into(handler: logging.Handler, names: Sequence[str], level: int) -> Iterator[None]:
    """The named loggers also write to `handler`, at `level`, until the block ends."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(level)
    try:
        yield
    finally:
        for lg, old in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(old)
