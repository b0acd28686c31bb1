"""Cassandra access: one Cluster/Session per process and an awaitable adapter.

cassandra-driver has no asyncio API; `ResponseFuture` callbacks run on the driver's I/O thread, so
the adapter hands results back to the event loop with `call_soon_threadsafe` (no thread per query).
Statements are prepared once per process and cached by their CQL text. Rows are dicts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    ResponseFuture,
    Session,
)
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import PreparedStatement, dict_factory

from db import roundtrips
from sigma_graphql.settings import Settings

log = logging.getLogger(__name__)

Row = dict[str, Any]
Params = Sequence[Any] | None


class _UseKeyspaceWarningFilter(logging.Filter):
    """Cassandra 5 warns on every prepare when the session has a keyspace; we bind one session
    to one keyspace on purpose (the keyspace name is a setting), so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "USE <keyspace>" not in record.getMessage()


logging.getLogger("cassandra.protocol").addFilter(_UseKeyspaceWarningFilter())


class CassandraUnavailable(RuntimeError):
    """Cassandra cannot be reached (or the keyspace is missing); maps to SERVICE_UNAVAILABLE."""


def _contact_points(settings: Settings) -> tuple[list[str], int]:
    hosts: list[str] = []
    port = settings.cassandra_port
    for point in settings.cassandra_contact_points:
        host, sep, maybe_port = point.rpartition(":")
        if sep and maybe_port.isdigit():
            hosts.append(host)
            port = int(maybe_port)
        else:
            hosts.append(point)
    return hosts, port


def make_cluster(settings: Settings) -> Cluster:
    hosts, port = _contact_points(settings)
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=settings.cassandra_local_dc)
        ),
        consistency_level=ConsistencyLevel.LOCAL_QUORUM,
        serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL,
        request_timeout=settings.cassandra_timeout_s,
        row_factory=dict_factory,
    )
    return Cluster(
        contact_points=hosts,
        port=port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        protocol_version=5,
        # Generous: a busy single-node test Cassandra can take seconds to answer a handshake.
        connect_timeout=10,
        control_connection_timeout=10,
    )


class Cassandra:
    """Lazily connected Cassandra session with prepared-statement cache and awaitable queries."""

    RETRY_AFTER_S = 2.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keyspace = settings.cassandra_keyspace
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._prepared: dict[str, PreparedStatement] = {}
        self._lock = asyncio.Lock()
        self._last_failure = 0.0
        self._last_error = ""

    @property
    def connected(self) -> bool:
        return self._session is not None

    async def session(self) -> Session:
        if self._session is not None:
            return self._session
        async with self._lock:
            if self._session is not None:
                return self._session
            if time.monotonic() - self._last_failure < self.RETRY_AFTER_S:
                raise CassandraUnavailable(self._last_error or "cassandra is unavailable")
            loop = asyncio.get_running_loop()
            try:
                self._session = await loop.run_in_executor(None, self._connect)
            except Exception as exc:
                self._last_failure = time.monotonic()
                self._last_error = f"cassandra is unavailable: {exc}"
                log.warning("%s", self._last_error)
                raise CassandraUnavailable(self._last_error) from exc
            return self._session

    def _connect(self) -> Session:
        cluster = make_cluster(self.settings)
        try:
            session = cluster.connect(self.keyspace)
        except Exception:
            cluster.shutdown()
            raise
        self._cluster = cluster
        return session

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = None
        self._session = None
        self._prepared.clear()

    async def prepare(self, cql: str) -> PreparedStatement:
        stmt = self._prepared.get(cql)
        if stmt is None:
            session = await self.session()
            loop = asyncio.get_running_loop()
            stmt = await loop.run_in_executor(None, session.prepare, cql)
            self._prepared[cql] = stmt
        return stmt

    async def execute(self, cql: str, params: Params = None, *, page_size: int = 5000) -> list[Row]:
        """Runs a prepared statement and returns all rows (every page)."""
        stmt = await self.prepare(cql)
        session = await self.session()
        stmt_bound = stmt.bind(params or ())
        stmt_bound.fetch_size = page_size
        return await _all_rows(session.execute_async(stmt_bound))

    async def execute_page(
        self, cql: str, params: Params, page_size: int, paging_state: bytes | None = None
    ) -> tuple[list[Row], bytes | None]:
        """One page of a prepared statement; returns rows and the next paging state (or None)."""
        stmt = await self.prepare(cql)
        session = await self.session()
        bound = stmt.bind(params or ())
        bound.fetch_size = page_size
        future = session.execute_async(bound, paging_state=paging_state)
        rows = await _one_page(future)
        return rows, future._paging_state if future.has_more_pages else None

    async def execute_concurrent(self, cql: str, params_list: Sequence[Params]) -> list[list[Row]]:
        """The same prepared statement for many parameter sets, all in flight at once."""
        if not params_list:
            return []
        await self.prepare(cql)
        return list(await asyncio.gather(*(self.execute(cql, p) for p in params_list)))


async def _one_page(future: ResponseFuture) -> list[Row]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Row]] = loop.create_future()
    roundtrips.count_cassandra()

    def ok(rows: list[Row]) -> None:
        loop.call_soon_threadsafe(_resolve, done, list(rows or ()))

    def err(exc: BaseException) -> None:
        loop.call_soon_threadsafe(_reject, done, exc)

    future.add_callbacks(ok, err)
    return await done


async def _all_rows(future: ResponseFuture) -> list[Row]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Row]] = loop.create_future()
    rows: list[Row] = []
    counter = roundtrips.current()
    if counter is not None:
        counter.cassandra += 1

    def ok(page: list[Row]) -> None:  # runs on the driver's I/O thread
        rows.extend(page or ())
        if future.has_more_pages:
            if counter is not None:
                counter.cassandra += 1
            future.start_fetching_next_page()
        else:
            loop.call_soon_threadsafe(_resolve, done, rows)

    def err(exc: BaseException) -> None:
        loop.call_soon_threadsafe(_reject, done, exc)

    future.add_callbacks(ok, err)
    return await done


def _resolve(fut: asyncio.Future[list[Row]], rows: list[Row]) -> None:
    if not fut.done():
        fut.set_result(rows)


def _reject(fut: asyncio.Future[list[Row]], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
