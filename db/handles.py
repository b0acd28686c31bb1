"""The process-wide database handles, opened in the app lifespan and closed on shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from db.cassandra import Cassandra
from db.mongo import MongoDoc, create_client
from sigma_graphql.settings import Settings


@dataclass
class Databases:
    settings: Settings
    mongo_client: AsyncMongoClient[MongoDoc]
    mongo: AsyncDatabase[MongoDoc]
    cassandra: Cassandra

    @classmethod
    def open(cls, settings: Settings) -> Databases:
        client = create_client(settings)
        return cls(settings, client, client[settings.mongo_db], Cassandra(settings))

    async def close(self) -> None:
        await self.mongo_client.close()
        await asyncio.get_running_loop().run_in_executor(None, self.cassandra.close)

    async def check(self, timeout_s: float = 1.0) -> dict[str, str]:
        """'ok' or the reason per database, each answering within timeout_s (for /ready)."""

        async def mongo() -> None:
            await self.mongo.command("ping")

        async def cassandra() -> None:
            await self.cassandra.execute("SELECT release_version FROM system.local")

        async def probe(name: str, fn: object) -> tuple[str, str]:
            try:
                await asyncio.wait_for(fn(), timeout_s)  # type: ignore[operator]
                return name, "ok"
            except TimeoutError:
                return name, f"no answer within {timeout_s:g} s"
            except Exception as exc:
                return name, f"{type(exc).__name__}: {exc}"[:300]

        results = await asyncio.gather(probe("mongodb", mongo), probe("cassandra", cassandra))
        return dict(results)
