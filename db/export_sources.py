"""Reads of exports (issue 18): profiles in batches from one cursor, and their months.

One server-side cursor per export, read `batch` documents at a time: memory holds one batch,
and the server scans the collection once (keyset pages would re-run the query per page, which
the stand-in, without indexes, answers with a full scan each time).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from db import financial_logs
from db.drivers.cassandra import Cassandra, Row
from db.drivers.mongo import MongoDoc
from db.umkm_profiles import COLLECTION, FULL_PROJECTION, SORT


async def profile_batches(
    db: AsyncDatabase[MongoDoc], query: dict[str, Any], batch: int
) -> AsyncIterator[list[MongoDoc]]:
    """The profiles matching `query` in the lists' order, `batch` at a time."""
    cursor = db[COLLECTION].find(query, FULL_PROJECTION).sort(SORT).batch_size(batch)
    page: list[MongoDoc] = []
    try:
        async for doc in cursor:
            page.append(doc)
            if len(page) >= batch:
                yield page
                page = []
        if page:
            yield page
    finally:
        await cursor.close()


async def months_of(
    cass: Cassandra, umkm_ids: Sequence[uuid.UUID], years: range
) -> dict[uuid.UUID, list[Row]]:
    """Every log row of these UMKMs within `years`: their years first (umkm_log_years), then
    only the partitions that exist (at most financial_logs.MAX_IN UMKMs per statement)."""
    found: dict[uuid.UUID, list[Row]] = {}
    have = await financial_logs.years_of(cass, umkm_ids)
    wanted = sorted({y for ys in have.values() for y in ys if y in years})
    if not wanted:
        return found
    ids = [u for u, ys in have.items() if any(y in years for y in ys)]
    for (umkm_id, _), rows in (await financial_logs.logs_in(cass, ids, wanted)).items():
        found.setdefault(umkm_id, []).extend(rows)
    return found
