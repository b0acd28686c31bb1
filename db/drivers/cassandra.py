"""Cassandra access: one Cluster/Session per process and an awaitable adapter.

cassandra-driver has no asyncio API; `ResponseFuture` callbacks run on the driver's I/O thread, so
the adapter hands results back to the event loop with `call_soon_threadsafe` (no thread per query).
Statements are prepared once per process and cached by their CQL text. Rows are dicts.

Faults (issue #12): every statement passes the process's Cassandra breaker (db/drivers/breaker.py),
which fails it at once while Cassandra does not answer. The driver's blocking calls (connect,
prepare) run on this class's own small thread pool, never on the event loop's default executor, so a
hung Cassandra cannot starve what else runs there (password hashing, mail, DNS lookups); concurrent
prepares of one statement share one call. The reconnection backoff is capped
(SIGMA_CASSANDRA_RECONNECT_MAX_S; the driver's default grows to 10 minutes and gives up after 64
attempts), and `probe()` marks a host up as soon as its CQL port accepts connections again.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cassandra import (
    ConsistencyLevel,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
)
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import PreparedStatement, dict_factory

from db.drivers import roundtrips
from db.drivers.breaker import Breaker
from sigma_graphql.core.settings import Settings

T = TypeVar("T")

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
    """Cassandra cannot be reached (or the keyspace is missing); maps to SERVICE_UNAVAILABLE.
    With `retry_after`: its circuit is open and the statement was not sent."""

    def __init__(self, message: str = "cassandra is unavailable", retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


# Failures that mean "Cassandra does not answer": they count for the breaker.
NO_ANSWER: tuple[type[BaseException], ...] = (
    CassandraUnavailable,
    NoHostAvailable,
    OperationTimedOut,
)
# Failures that map to SERVICE_UNAVAILABLE: also the coordinator's answers that its replicas
# did not answer in time (overload, or contended lightweight transactions); anything else is a
# bug or bad input.
OUTAGES: tuple[type[BaseException], ...] = (*NO_ANSWER, Unavailable, ReadTimeout, WriteTimeout)


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
        # Capped, and never giving up (the default stops after 64 attempts).
        reconnection_policy=ExponentialReconnectionPolicy(
            base_delay=min(0.5, settings.cassandra_reconnect_max_s),
            max_delay=settings.cassandra_reconnect_max_s,
            max_attempts=None,
        ),
        # Generous: a busy single-node test Cassandra can take seconds to answer a handshake.
        connect_timeout=10,
        control_connection_timeout=10,
    )


PROBE_CQL = "SELECT release_version FROM system.local"


def new_breaker(settings: Settings) -> Breaker:
    return Breaker(
        "cassandra",
        CassandraUnavailable,
        threshold=settings.breaker_failures,
        probe_interval_s=settings.probe_interval_s,
    )


class Cassandra:
    """Lazily connected Cassandra session with prepared-statement cache and awaitable queries."""

    RETRY_AFTER_S = 2.0

    def __init__(self, settings: Settings, breaker: Breaker | None = None) -> None:
        self.settings = settings
        self.keyspace = settings.cassandra_keyspace
        self.breaker = breaker or new_breaker(settings)
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._prepared: dict[str, PreparedStatement] = {}
        self._preparing: dict[str, asyncio.Task[PreparedStatement]] = {}
        self._connecting: asyncio.Task[Session] | None = None
        self._last_failure = 0.0
        self._last_error = ""
        self._blocking = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cassandra")

    async def session(self) -> Session:
        if self._session is not None:
            return self._session
        if self._connecting is None:
            if time.monotonic() - self._last_failure < self.RETRY_AFTER_S:
                raise CassandraUnavailable(self._last_error or "cassandra is unavailable")
            self._connecting = _shared(self._open(), lambda: setattr(self, "_connecting", None))
        # Shielded: a caller that gives up (a probe's or /ready's timeout) must not discard a
        # connection being made, which would leak its Cluster and start another.
        return await asyncio.shield(self._connecting)

    async def _open(self) -> Session:
        try:
            self._session = await self._in_thread(self._connect)
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
        self._blocking.shutdown(wait=False, cancel_futures=True)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._blocking, fn, *args)

    async def _guarded(self, work: Callable[[], Awaitable[T]]) -> T:
        """Runs one statement through the breaker: refused at once while open, and its
        outcome counted."""
        self.breaker.check()
        try:
            result = await work()
        except NO_ANSWER as exc:
            self.breaker.failure(exc)
            raise
        self.breaker.success()
        return result

    async def prepare(self, cql: str) -> PreparedStatement:
        stmt = self._prepared.get(cql)
        if stmt is not None:
            return stmt
        pending = self._preparing.get(cql)
        if pending is None:
            pending = self._preparing[cql] = _shared(
                self._prepare(cql), lambda: self._preparing.pop(cql, None)
            )
        return await asyncio.shield(pending)

    async def _prepare(self, cql: str) -> PreparedStatement:
        session = await self.session()
        stmt = await self._in_thread(session.prepare, cql)
        self._prepared[cql] = stmt
        return stmt

    async def execute(self, cql: str, params: Params = None, *, page_size: int = 5000) -> list[Row]:
        """Runs a prepared statement and returns all rows (every page)."""

        async def run() -> list[Row]:
            stmt = await self.prepare(cql)
            session = await self.session()
            stmt_bound = stmt.bind(params or ())
            stmt_bound.fetch_size = page_size
            return await _all_rows(session.execute_async(stmt_bound))

        with roundtrips.cassandra_call(cql):
            return await self._guarded(run)

    async def execute_page(
        self, cql: str, params: Params, page_size: int, paging_state: bytes | None = None
    ) -> tuple[list[Row], bytes | None]:
        """One page of a prepared statement; returns rows and the next paging state (or None)."""

        async def run() -> tuple[list[Row], bytes | None]:
            stmt = await self.prepare(cql)
            session = await self.session()
            bound = stmt.bind(params or ())
            bound.fetch_size = page_size
            future = session.execute_async(bound, paging_state=paging_state)
            rows = await _one_page(future)
            return rows, future._paging_state if future.has_more_pages else None

        with roundtrips.cassandra_call(cql):
            return await self._guarded(run)

    async def probe(self) -> None:
        """Asks Cassandra once, past the breaker (the background probe, db/drivers/handles.py);
        raises when it does not answer. First nudges the driver: a host it still holds down whose
        CQL port accepts connections again is marked up now, instead of at the next attempt of the
        reconnection schedule."""
        if self._cluster is not None:
            await self._in_thread(self._nudge)
        stmt = await self.prepare(PROBE_CQL)
        session = await self.session()
        await _all_rows(session.execute_async(stmt.bind(())))

    def _nudge(self) -> None:
        cluster = self._cluster
        if cluster is None:
            return
        for host in cluster.metadata.all_hosts():
            if host.is_up is not False:
                continue
            try:
                with socket.create_connection(
                    (host.endpoint.address, host.endpoint.port), timeout=0.5
                ):
                    pass
            except OSError:
                continue
            log.info("cassandra %s accepts connections again: reconnecting now", host)
            cluster.on_up(host)

    async def execute_concurrent(self, cql: str, params_list: Sequence[Params]) -> list[list[Row]]:
        """The same prepared statement for many parameter sets, all in flight at once."""
        if not params_list:
            return []
        await self.prepare(cql)
        return list(await asyncio.gather(*(self.execute(cql, p) for p in params_list)))


def _shared(work: Coroutine[Any, Any, T], done: Callable[[], object]) -> asyncio.Task[T]:
    """`work` as a task several callers await (shielded), calling `done` when it ends; its
    failure is marked as seen, so a task nobody waits for any more logs no warning."""

    def finished(task: asyncio.Task[T]) -> None:
        done()
        if not task.cancelled():
            task.exception()

    task = asyncio.get_running_loop().create_task(work)
    task.add_done_callback(finished)
    return task


async def _one_page(future: ResponseFuture) -> list[Row]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Row]] = loop.create_future()
    roundtrips.count_cassandra()

    def ok(rows: list[Row]) -> None:
        loop.call_soon_threadsafe(_resolve, done, list(rows or ()))

    def err(exc: BaseException) -> None:
        loop.call_soon_threadsafe(_reject, done, exc)

    future.add_callbacks(ok, err)
    try:
        return await done
    finally:
        _release(future, done)


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
    try:
        return await done
    finally:
        _release(future, done)


def _release(future: ResponseFuture, done: asyncio.Future[list[Row]]) -> None:
    """Breaks the reference cycles a statement's future is part of once we are done with it:
    its callbacks (the closures above hold the future) and, when the driver has answered, its
    request timer (already cancelled; the timer's callback is the future's own method). Without
    this every statement's future, message, bound values and rows outlived the request until
    the cyclic collector ran: several hundred objects per dashboard request, walked by each
    collection. A caller cancelled while the statement is in flight keeps the timer running,
    so the driver still frees the connection's request slot at the timeout."""
    future.clear_callbacks()
    if done.done() and not done.cancelled():  # answered: the driver cancelled the timer
        future._timer = None


def _resolve(fut: asyncio.Future[list[Row]], rows: list[Row]) -> None:
    if not fut.done():
        fut.set_result(rows)


def _reject(fut: asyncio.Future[list[Row]], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
