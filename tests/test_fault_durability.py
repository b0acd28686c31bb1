"""Issue #12, finding 1: `make run` data survives kill -9 of either database.

Both tests run on a pair of their own started by `.ci/services.sh` the way `make run` starts it
(tests/fault_services.py), write, kill the server with SIGKILL at once (well inside Cassandra's
10 s commit-log sync period and H2's one-second write delay), restart it with services.sh and
read every acknowledged write back.
"""

from __future__ import annotations

import asyncio
import uuid

from db import financial_logs
from db.drivers.cassandra import Cassandra
from db.drivers.mongo import create_client
from sigma_graphql.core.settings import Settings
from tests.fault_services import DedicatedServices

ROWS = 200


async def _tables(cass: Cassandra) -> set[str]:
    rows = await cass.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", (cass.keyspace,)
    )
    return {r["table_name"] for r in rows}


async def test_cassandra_kill_9_keeps_schema_and_acknowledged_writes(
    fault_services: DedicatedServices, fault_settings: Settings
) -> None:
    cass = Cassandra(fault_settings)
    umkm_id = uuid.uuid4()
    try:
        tables = await _tables(cass)
        assert {"umkm_financial_log", "events", "umkm_counts"} <= tables
        for i in range(ROWS):  # sequential: each one acknowledged before the next
            assert await financial_logs.insert_new(
                cass,
                {"umkm_id": umkm_id, "tahun": 2000 + i // 12, "bulan": 1 + i % 12, "omzet": i},
            )
    finally:
        await asyncio.get_running_loop().run_in_executor(None, cass.close)

    fault_services.kill("cassandra")
    fault_services.up("cassandra")

    cass = Cassandra(fault_settings)
    try:
        # Before the fix `-Dcassandra.unsafesystem=true` kept schema changes out of the commit
        # log: the keyspace was gone after the restart ("Skipped ... mutations from unknown CF").
        assert await _tables(cass) == tables
        found = 0
        for year in range(2000, 2000 + (ROWS + 11) // 12):
            rows = await financial_logs.partition(cass, umkm_id, year)
            found += len(rows)
            assert all(r["omzet"] == (year - 2000) * 12 + r["bulan"] - 1 for r in rows)
        assert found == ROWS
    finally:
        await asyncio.get_running_loop().run_in_executor(None, cass.close)


async def test_mongo_kill_9_keeps_acknowledged_writes(
    fault_services: DedicatedServices, fault_settings: Settings
) -> None:
    client = create_client(fault_settings)
    collection = client[fault_settings.mongo_db][f"durability_{uuid.uuid4().hex[:8]}"]
    try:
        for i in range(ROWS):  # sequential: each one acknowledged before the next
            await collection.insert_one({"_id": i})
    finally:
        await client.close()

    fault_services.kill("mongo")
    fault_services.up("mongo")

    client = create_client(fault_settings)
    try:
        # Before the fix H2 kept the last second of writes in the JVM's heap: about half of
        # them were lost.
        collection = client[fault_settings.mongo_db][collection.name]
        assert await collection.count_documents({}) == ROWS
    finally:
        await client.close()
