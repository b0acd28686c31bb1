"""The process-wide MongoDB client (pymongo's native async API)."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Span
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import ConnectionFailure

from db.drivers import roundtrips
from db.drivers.breaker import Breaker
from sigma_graphql.core import log_redaction
from sigma_graphql.core.settings import Settings

MongoDoc = dict[str, Any]


class _RoundTripListener(monitoring.CommandListener):
    """Counts every command the driver sends (started events run in the caller's context), and
    times it and traces it (db/drivers/roundtrips.py) until its succeeded or failed event."""

    _IGNORED = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "saslStart"})

    def __init__(self) -> None:
        # (request id, connection) of a command in flight -> its kind and span.
        self._open: dict[tuple[int, object], tuple[str, Span | None]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in self._IGNORED:
            return
        roundtrips.count_mongo()
        kind = roundtrips.mongo_kind(event.command_name, event.command.get(event.command_name))
        span = roundtrips.mongo_span(kind, event.database_name)
        self._open[(event.request_id, event.connection_id)] = (kind, span)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        opened = self._open.pop((event.request_id, event.connection_id), None)
        if opened is not None:
            roundtrips.mongo_done(opened[0], opened[1], event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        opened = self._open.pop((event.request_id, event.connection_id), None)
        if opened is not None:
            failure = str(event.failure.get("codeName") or event.failure.get("errtype") or "")
            roundtrips.mongo_done(opened[0], opened[1], event.duration_micros, failure or "error")


class MongoUnavailable(ConnectionFailure):
    """MongoDB's circuit is open (db/drivers/breaker.py): failed at once, without asking the
    server."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _BreakerCommands(monitoring.CommandListener):
    """Feeds the breaker: answers are successes; client-side failures (the driver's connection
    errors and timeouts, reported with an `errtype`, unlike server errors such as a duplicate
    key) are failures."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.breaker.success()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        if "errtype" in event.failure:
            self.breaker.failure(str(event.failure.get("errmsg") or event.failure["errtype"]))


class _BreakerHeartbeats(monitoring.ServerHeartbeatListener):
    """A selection timeout has no command event, but while it waits the driver's monitor checks
    the server: its failed checks are failures too. Its successes are not counted: a monitor can
    be answered while the pooled connections hang."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker

    def started(self, event: monitoring.ServerHeartbeatStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.ServerHeartbeatSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.ServerHeartbeatFailedEvent) -> None:
        self.breaker.failure(event.reply)


def create_client(settings: Settings, breaker: Breaker | None = None) -> AsyncMongoClient[MongoDoc]:
    log_redaction.install()  # its DEBUG command log would print password hashes
    # The client connects lazily and reconnects by itself: a server that is down at start-up
    # only makes operations fail (SERVICE_UNAVAILABLE) until it returns.
    # Every wait is bounded: without socketTimeoutMS a connection that went silent (a hung
    # server, a peer gone without a reset) holds its operation, and a handshake on a new
    # connection holds one of the pool's two "connecting" slots, forever; without
    # waitQueueTimeoutMS every later checkout then waits forever too, opening nothing.
    listeners: list[Any] = [_RoundTripListener()]
    if breaker is not None:
        listeners += [_BreakerCommands(breaker), _BreakerHeartbeats(breaker)]
    return AsyncMongoClient(
        settings.mongo_uri,
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongo_timeout_ms,
        connectTimeoutMS=settings.mongo_timeout_ms,
        socketTimeoutMS=settings.mongo_socket_timeout_ms,
        waitQueueTimeoutMS=settings.mongo_socket_timeout_ms,
        appname="sigma-graphql",
        event_listeners=listeners,
    )
