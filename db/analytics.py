"""Reads for analytics: aggregate tables and raw logs (Cassandra), counts and lists (MongoDB).

Cost model: every Cassandra read names its partitions. Several partitions are read with one
`IN` statement (the coordinator fans out) in chunks of at most CHUNK keys, chunks in flight
concurrently, so round trips grow with the number of sectors/kotas/years asked for, never with
the number of UMKMs. The exceptions are stated where they occur (raw logs per UMKM).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from db import financial_logs
from db.drivers.cassandra import Cassandra, Row
from db.drivers.mongo import MongoDoc
from db.umkm_profiles import COLLECTION, FULL_PROJECTION

CHUNK = 100
QUARTER_BUCKETS = 16  # umkm_quarter_totals: bucket = stable hash of umkm_id mod 16

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


async def _in_chunks(
    cassandra: Cassandra, cql: str, keys: Sequence[Any], *rest: Any, size: int = CHUNK
) -> list[Row]:
    """Runs `cql` (whose first marker is `IN ?`) once per chunk of keys, all concurrently."""
    if not keys:
        return []
    pages = await cassandra.execute_concurrent(cql, [(part, *rest) for part in chunks(keys, size)])
    return [row for page in pages for row in page]


# ---------------------------------------------------------------- aggregates (Cassandra)


async def dashboard_names(
    cassandra: Cassandra, dimension: str, years: Sequence[int]
) -> list[tuple[int, str]]:
    """(tahun, name) with aggregate rows, for dimension 'sektor' or 'kota'."""
    rows = await cassandra.execute(
        "SELECT tahun, name FROM dashboard_keys WHERE dimension = ? AND tahun IN ?",
        (dimension, list(years)),
    )
    return [(r["tahun"], r["name"]) for r in rows]


async def sector_months(
    cassandra: Cassandra, sectors: Sequence[str], years: Sequence[int]
) -> list[tuple[str, int, int, int, int]]:
    """(sektor, tahun, bulan, total_omzet, jumlah_umkm) of the asked partitions."""
    rows = await _in_chunks(
        cassandra,
        "SELECT sektor, tahun, bulan, total_omzet, total_umkm FROM dashboard_sector_stats "
        "WHERE sektor IN ? AND tahun IN ?",
        sorted(set(sectors)),
        list(years),
        size=max(1, CHUNK // max(1, len(years))),
    )
    return [
        (r["sektor"], r["tahun"], r["bulan"], r["total_omzet"] or 0, r["total_umkm"] or 0)
        for r in rows
    ]


async def region_months(
    cassandra: Cassandra, kotas: Sequence[str], years: Sequence[int]
) -> list[tuple[str, int, int, int, int]]:
    """(kota, tahun, bulan, total_omzet, jumlah_umkm) of the asked partitions."""
    rows = await _in_chunks(
        cassandra,
        "SELECT kota, tahun, bulan, total_omzet, umkm_aktif FROM dashboard_region_stats "
        "WHERE kota IN ? AND tahun IN ?",
        sorted(set(kotas)),
        list(years),
        size=max(1, CHUNK // max(1, len(years))),
    )
    return [
        (r["kota"], r["tahun"], r["bulan"], r["total_omzet"] or 0, r["umkm_aktif"] or 0)
        for r in rows
    ]


async def pair_months(
    cassandra: Cassandra, sectors: Sequence[str], years: Sequence[int], kota: str | None
) -> list[tuple[str, str, int, int, int, int]]:
    """(sektor, kota, tahun, bulan, total_omzet, jumlah_umkm) of the (sektor, tahun) partitions
    of dashboard_sector_region_stats; with `kota`, only that kota's rows of each partition (an
    equality on the first clustering column: a slice, not a scan)."""
    cql = (
        "SELECT sektor, kota, tahun, bulan, total_omzet, jumlah_umkm "
        "FROM dashboard_sector_region_stats WHERE sektor IN ? AND tahun IN ?"
    )
    rest: tuple[Any, ...] = (list(years),)
    if kota is not None:
        cql += " AND kota = ?"
        rest = (list(years), kota)
    rows = await _in_chunks(
        cassandra, cql, sorted(set(sectors)), *rest, size=max(1, CHUNK // max(1, len(years)))
    )
    return [
        (
            r["sektor"],
            r["kota"],
            r["tahun"],
            r["bulan"],
            r["total_omzet"] or 0,
            r["jumlah_umkm"] or 0,
        )
        for r in rows
    ]


async def quarter_totals(
    cassandra: Cassandra, tahun: int, quarter: int
) -> dict[uuid.UUID, tuple[int, int]]:
    """{umkm_id: (total_omzet, months)} of one quarter: its 16 bucket partitions, one statement."""
    rows = await cassandra.execute(
        "SELECT umkm_id, total_omzet, months FROM umkm_quarter_totals "
        "WHERE tahun = ? AND quarter = ? AND bucket IN ?",
        (tahun, quarter, list(range(QUARTER_BUCKETS))),
    )
    return {r["umkm_id"]: (r["total_omzet"] or 0, r["months"] or 0) for r in rows}


# ---------------------------------------------------------------- raw logs (Cassandra)


async def logs(
    cassandra: Cassandra, umkm_ids: Sequence[uuid.UUID], years: Sequence[int]
) -> list[Row]:
    """Every log row of the given UMKMs in the given years (the financial repository's
    multi-partition read: one statement per 100 UMKMs, all in flight at once). A page of up to
    100 UMKMs costs one round trip; only the anomaly scan goes past that."""
    found = await financial_logs.logs_in(cassandra, umkm_ids, years)
    return [row for rows in found.values() for row in rows]


async def all_logs(cassandra: Cassandra, umkm_ids: Sequence[uuid.UUID]) -> list[Row]:
    """Every log row of the given UMKMs: their years first, then those partitions (the union
    of years for every UMKM: a partition that does not exist costs nothing to ask for)."""
    years = await financial_logs.years_of(cassandra, umkm_ids)
    union = sorted({y for ys in years.values() for y in ys})
    return await logs(cassandra, [u for u, ys in years.items() if ys], union)


# ---------------------------------------------------------------- profiles (MongoDB)

VERIFIED_LIVE: dict[str, Any] = {"legalitas.status_verifikasi": "VERIFIED", "is_deleted": False}


async def count_umkms(db: AsyncDatabase[MongoDoc], query: dict[str, Any]) -> int:
    return await db[COLLECTION].count_documents(query)


async def umkm_refs(
    db: AsyncDatabase[MongoDoc], query: dict[str, Any], fields: Sequence[str]
) -> list[MongoDoc]:
    """Small projections of every matching UMKM (owner's UMKMs, anomaly candidates)."""
    projection = {f: 1 for f in fields}
    cursor = db[COLLECTION].find(query, projection, batch_size=5000).sort("_id", 1)
    return [doc async for doc in cursor]


def not_reporting_query(since_tahun: int, since_bulan: int) -> dict[str, Any]:
    """VERIFIED, live UMKMs whose latest month on record is before (since_tahun, since_bulan).

    Each $or branch carries the equality fields and one range on summary_terakhir (tahun,
    bulan), so every branch is a bounded scan of the `status_summary` index; a missing summary
    matches `summary_terakhir.tahun: null` (the null index key).
    """
    return {
        "$or": [
            {**VERIFIED_LIVE, "summary_terakhir.tahun": None},
            {**VERIFIED_LIVE, "summary_terakhir.tahun": {"$lt": since_tahun}},
            {
                **VERIFIED_LIVE,
                "summary_terakhir.tahun": since_tahun,
                "summary_terakhir.bulan": {"$lt": since_bulan},
            },
        ]
    }


async def page_umkms(
    db: AsyncDatabase[MongoDoc], query: dict[str, Any], after_id: uuid.UUID | None, limit: int
) -> list[MongoDoc]:
    """One keyset page ordered by _id (limit + 1 rows tell whether another page exists)."""
    if after_id is not None:
        query = {"$and": [query, {"_id": {"$gt": after_id}}]}
    cursor = db[COLLECTION].find(query, FULL_PROJECTION).sort("_id", 1).limit(limit + 1)
    return [doc async for doc in cursor]


async def count_flagged(cassandra: Cassandra, tahun: int) -> int:
    """Flagged months of a year: the per-year count the financial domain keeps on every flag
    flip (db/financial_logs.flagged_count; exact after crashes through its intents and the
    rebuild). One row of one partition, whatever the number of flags."""
    return await financial_logs.flagged_count(cassandra, tahun)
