"""Idempotent schema migrations for Cassandra (db/cql/*.cql) and MongoDB
(db/maintenance/indexes.py)."""

from __future__ import annotations

import asyncio
import logging
import re
from importlib import resources
from typing import Any

from cassandra import InvalidRequest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from db import umkm_profiles
from db.drivers.cassandra import make_cluster
from db.drivers.mongo import MongoDoc, create_client
from db.maintenance.indexes import INDEXES
from sigma_graphql.core.settings import Settings

log = logging.getLogger(__name__)

_COMMENT = re.compile(r"--[^\n]*")
_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS\s+(\w+)\s*\(", re.IGNORECASE)
_INLINE_KEY = re.compile(r"(\w+)\s+\w+\s+PRIMARY KEY", re.IGNORECASE)


class MigrationError(RuntimeError):
    """The keyspace holds a table whose key differs from the code's: CREATE ... IF NOT EXISTS
    would silently keep the old shape, so we stop and say which table."""


def declared_key(stmt: str) -> tuple[str, list[str]] | None:
    """(table, key columns in order) of a CREATE TABLE statement, partition columns first."""
    table = _CREATE_TABLE.search(stmt)
    if table is None:
        return None
    marker = re.search(r"PRIMARY KEY\s*\(", stmt, re.IGNORECASE)
    if marker is None:
        inline = _INLINE_KEY.search(stmt)
        return (table.group(1), [inline.group(1)]) if inline else None
    depth, end = 1, marker.end()
    while depth and end < len(stmt):
        depth += {"(": 1, ")": -1}.get(stmt[end], 0)
        end += 1
    return table.group(1), re.findall(r"\w+", stmt[marker.end() : end - 1])


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
            f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}",
            timeout=60,
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
        check_table_keys(session, ks)
        return applied
    finally:
        cluster.shutdown()


def check_table_keys(session: Any, keyspace: str) -> None:
    """Fails when an existing table's primary key is not the one db/cql declares."""
    rows = session.execute(
        "SELECT table_name, column_name, kind, position FROM system_schema.columns "
        "WHERE keyspace_name = %s",
        (keyspace,),
        timeout=60,
    )
    existing: dict[str, list[tuple[int, int, str]]] = {}
    for row in rows:  # dict rows (the cluster's row factory)
        if row["kind"] in ("partition_key", "clustering"):
            order = 0 if row["kind"] == "partition_key" else 1
            existing.setdefault(row["table_name"], []).append(
                (order, row["position"], row["column_name"])
            )
    for stmt in cql_statements():
        declared = declared_key(stmt)
        if declared is None or declared[0] not in existing:
            continue
        table, columns = declared
        actual = [name for _, _, name in sorted(existing[table])]
        if actual != columns:
            raise MigrationError(
                f"table {keyspace}.{table} has primary key ({', '.join(actual)}) but the code "
                f"declares ({', '.join(columns)}); it predates a schema change and must be "
                "migrated by hand (copy the rows to the new shape) before the server can use it"
            )


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
    await asyncio.get_running_loop().run_in_executor(None, migrate_cassandra, settings)
    client = create_client(settings)
    try:
        await migrate_mongo(client, settings)
    finally:
        await client.close()
