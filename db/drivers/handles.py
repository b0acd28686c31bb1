"""The process-wide database handles, opened in the app lifespan and closed on shutdown.

Faults (issue #12): each database has a circuit breaker (db/drivers/breaker.py). `mongo` refuses at
once while MongoDB's is open (every repository call starts by reading it); Cassandra statements pass
their breaker in db/drivers/cassandra.py. The API runs `probe_forever()`: every
SIGMA_PROBE_INTERVAL_S it asks each database (a failed or slow answer counts as a failure, so a
database that hangs while nobody calls it is noticed too), and closes an open breaker as soon as the
database answers. While MongoDB's breaker is open the probe asks with a new client, and the first
one that answers replaces the old client: whatever state the old client's pool and monitor were left
in by the outage (connections that went silent, a wedged pool), requests continue on fresh ones, as
they did when an operator restarted the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from db.drivers.breaker import Breaker
from db.drivers.cassandra import Cassandra
from db.drivers.cassandra import new_breaker as cassandra_breaker
from db.drivers.mongo import MongoDoc, MongoUnavailable, create_client
from sigma_graphql.core.settings import Settings

log = logging.getLogger(__name__)


class Databases:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mongo_breaker = Breaker(
            "mongodb",
            MongoUnavailable,
            threshold=settings.breaker_failures,
            probe_interval_s=settings.probe_interval_s,
        )
        self.mongo_client = create_client(settings, self.mongo_breaker)
        self._mongo = self.mongo_client[settings.mongo_db]
        self.cassandra = Cassandra(settings, cassandra_breaker(settings))
        self._retired: set[asyncio.Task[None]] = set()

    @classmethod
    def open(cls, settings: Settings) -> Databases:
        return cls(settings)

    @property
    def mongo(self) -> AsyncDatabase[MongoDoc]:
        """The MongoDB database; raises MongoUnavailable at once while its circuit is open."""
        self.mongo_breaker.check()
        return self._mongo

    async def close(self) -> None:
        await self.mongo_client.close()
        for task in self._retired:
            task.cancel()
        await asyncio.gather(*self._retired, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.cassandra.close)

    async def check(self, timeout_s: float = 1.0) -> dict[str, str]:
        """'ok' or the reason per database, each answering within timeout_s (for /ready)."""

        async def mongo() -> None:
            await self.mongo.command("ping")

        async def cassandra() -> None:
            await self.cassandra.execute("SELECT release_version FROM system.local")

        async def probe(name: str, fn: Callable[[], Awaitable[None]]) -> tuple[str, str]:
            try:
                await asyncio.wait_for(fn(), timeout_s)
                return name, "ok"
            except TimeoutError:
                return name, f"no answer within {timeout_s:g} s"
            except Exception as exc:
                return name, f"{type(exc).__name__}: {exc}"[:300]

        results = await asyncio.gather(probe("mongodb", mongo), probe("cassandra", cassandra))
        return dict(results)

    # -- the background probe -----------------------------------------------------------------

    async def probe_forever(self) -> None:
        """Runs until cancelled (the app lifespan); arms both breakers meanwhile."""
        self.mongo_breaker.armed = self.cassandra.breaker.armed = True
        try:
            while True:
                await asyncio.gather(self._probe_mongo(), self._probe_cassandra())
                await asyncio.sleep(self.settings.probe_interval_s)
        finally:
            self.mongo_breaker.armed = self.cassandra.breaker.armed = False

    async def _answers(self, ask: Callable[[], Awaitable[object]], breaker: Breaker) -> bool:
        try:
            await asyncio.wait_for(ask(), self.settings.probe_timeout_s)
        except Exception as exc:
            breaker.failure(
                exc if str(exc) else f"no answer within {self.settings.probe_timeout_s:g} s"
            )
            return False
        breaker.success()
        return True

    async def _probe_cassandra(self) -> None:
        await self._answers(self.cassandra.probe, self.cassandra.breaker)

    async def _probe_mongo(self) -> None:
        if not self.mongo_breaker.is_open:
            await self._answers(lambda: self._mongo.command("ping"), self.mongo_breaker)
            return
        fresh = create_client(self.settings, self.mongo_breaker)
        if not await self._answers(
            lambda: fresh[self.settings.mongo_db].command("ping"), self.mongo_breaker
        ):
            await self._retire(fresh, grace_s=0)
            return
        old, self.mongo_client = self.mongo_client, fresh
        self._mongo = fresh[self.settings.mongo_db]
        task = asyncio.get_running_loop().create_task(self._retire(old))
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def _retire(
        self, client: AsyncMongoClient[MongoDoc], grace_s: float | None = None
    ) -> None:
        """Requests still holding the old client get its socket timeout to finish; then closing
        it ends its monitor and pool."""
        try:
            await asyncio.sleep(
                self.settings.mongo_socket_timeout_ms / 1000 if grace_s is None else grace_s
            )
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 10)
