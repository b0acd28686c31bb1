"""Idempotent schema migrations for Cassandra (db/cql/*.cql) and MongoDB (db/indexes.py)."""

from __future__ import annotations

import logging
import re
from importlib import resources

from cassandra import InvalidRequest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from db import umkm_profiles
from db.cassandra import make_cluster
from db.indexes import INDEXES
from db.mongo import MongoDoc
from sigma_graphql.settings import Settings

log = logging.getLogger(__name__)

_COMMENT = re.compile(r"--[^\n]*")


def cql_statements() -> list[str]:
    """All statements of db/cql/*.cql in file-name order."""
    files = sorted(
        (f for f in resources.files("db").joinpath("cql").iterdir() if f.name.endswith(".cql")),
        key=lambda f: f.name,
    )
    statements: list[str] = []
    for f in files:
        text = _COMMENT.sub("", f.read_text(encoding="utf-8"))
        statements.extend(s.strip() for s in text.split(";") if s.strip())
    return statements


def migrate_cassandra(settings: Settings, replication_factor: int = 1) -> int:
    """Creates the keyspace and every table; returns the number of statements applied."""
    cluster = make_cluster(settings)
    try:
        session = cluster.connect()
        ks = settings.cassandra_keyspace
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
        )
        session.set_keyspace(ks)
        applied = 0
        for stmt in cql_statements():
            try:
                session.execute(stmt, timeout=60)
            except InvalidRequest as exc:
                # Additive ALTER TABLE ... ADD of a column that exists already: nothing to do.
                if stmt.upper().startswith("ALTER") and "exist" in str(exc).lower():
                    continue
                raise
            applied += 1
        return applied
    finally:
        cluster.shutdown()


async def migrate_mongo(client: AsyncMongoClient[MongoDoc], settings: Settings) -> list[str]:
    """Creates the indexes and backfills derived fields; returns the names of optional
    indexes the server refused."""
    db = client[settings.mongo_db]
    refused: list[str] = []
    for spec in INDEXES:
        try:
            await db[spec.collection].create_index(spec.keys, name=spec.name, **spec.options)
        except OperationFailure as exc:
            if not spec.optional:
                raise
            log.info("index %s.%s not supported here: %s", spec.collection, spec.name, exc)
            refused.append(spec.name)
    # Data backfills: idempotent, cheap when there is nothing left to do (one empty query).
    await umkm_profiles.backfill_kota_lower(db)
    return refused


async def migrate_all(settings: Settings) -> None:
    import asyncio

    from db.mongo import create_client

    await asyncio.get_running_loop().run_in_executor(None, migrate_cassandra, settings)
    client = create_client(settings)
    try:
        await migrate_mongo(client, settings)
    finally:
        await client.close()
