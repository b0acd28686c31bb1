"""The seed writes log rows and summaries as the write path leaves them (db/maintenance/seed.py),
so the rebuild after it fixes no row and no summary: no lightweight transaction per row."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from db import umkm_profiles
from db.drivers.handles import Databases
from db.maintenance import seed
from db.maintenance.migrations import migrate_all
from db.maintenance.rebuild import rebuild_aggregates
from db.reference import SECTORS
from sigma_graphql.core.settings import Settings
from tests.conftest import drop_test_data
from tests.fin_support import assert_exact


@pytest.fixture
async def empty(migrated: Settings) -> AsyncIterator[Databases]:
    """A keyspace and database of its own: the rebuild runs over everything, and the
    session's other tests leave counters of their own to fix."""
    name = f"{migrated.mongo_db}_seed"
    settings = migrated.with_overrides(mongo_db=name, cassandra_keyspace=name)
    await migrate_all(settings)
    dbs = Databases.open(settings)
    try:
        yield dbs
    finally:
        await dbs.close()
        await drop_test_data(settings)


async def test_seeded_rows_and_summaries_need_no_fixing(
    empty: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seed, "CHUNK", 7)  # several chunks, an owner's UMKMs across two
    owners, umkms, logs = await seed.seed_synthetic(empty, 20)
    assert (owners, umkms, logs) == (4, 20, 20 * 24)
    await seed.seed_demo(empty)

    report = await rebuild_aggregates(empty)
    assert report.umkms == 30 and report.logs == 20 * 24 + 10 * 6
    # rows and summaries were written right: the rebuild sent no LWT and no profile update
    assert (report.rows_recounted, report.rows_renamed, report.summaries_fixed) == (0, 0, 0)
    assert report.sector_cells_fixed and report.quarter_cells_fixed  # counters: the rebuild's
    again = await rebuild_aggregates(empty)
    assert again.fixed == 0, again

    docs = [d async for d in empty.mongo[umkm_profiles.COLLECTION].find({})]
    ids: list[uuid.UUID] = [d["_id"] for d in docs]
    kotas = sorted({d["wilayah"]["kota"] for d in docs})
    years = sorted({y for y, _ in seed.last_complete_months(24)})
    await assert_exact(empty, ids, list(SECTORS), kotas, years)


async def test_synthetic_data_does_not_depend_on_the_chunking(
    empty: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 7 write what one chunk writes (bench data sets stay comparable)."""
    await seed.seed_synthetic(empty, 12)
    coll = empty.mongo[umkm_profiles.COLLECTION]
    whole = {d["_id"]: d async for d in coll.find({})}
    await coll.delete_many({})
    monkeypatch.setattr(seed, "CHUNK", 7)
    await seed.seed_synthetic(empty, 12)
    assert {d["_id"]: d async for d in coll.find({})} == whole
