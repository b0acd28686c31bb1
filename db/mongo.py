"""The process-wide MongoDB client (pymongo's native async API)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from db import roundtrips
from sigma_graphql import log_redaction
from sigma_graphql.settings import Settings

MongoDoc = dict[str, Any]


class _RoundTripListener(monitoring.CommandListener):
    """Counts every command the driver sends (started events run in the caller's context)."""

    _IGNORED = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "saslStart"})

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in self._IGNORED:
            roundtrips.count_mongo()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def create_client(settings: Settings) -> AsyncMongoClient[MongoDoc]:
    log_redaction.install()  # its DEBUG command log would print password hashes
    # The client connects lazily and reconnects by itself: a server that is down at start-up
    # only makes operations fail (SERVICE_UNAVAILABLE) until it returns.
    return AsyncMongoClient(
        settings.mongo_uri,
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongo_timeout_ms,
        connectTimeoutMS=settings.mongo_timeout_ms,
        appname="sigma-graphql",
        event_listeners=[_RoundTripListener()],
    )


def database(client: AsyncMongoClient[MongoDoc], settings: Settings) -> AsyncDatabase[MongoDoc]:
    return client[settings.mongo_db]
