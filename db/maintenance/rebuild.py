"""Rebuilds aggregates and summaries from the source of truth: the logs and the profiles.

`sigma-graphql rebuild-aggregates` (registered here) and the seed command call
`rebuild_aggregates(dbs)`. It streams: profiles come from a MongoDB cursor in batches of BATCH,
and each batch reads its years, months and quarter totals with one multi-partition query each.
Only the per-(sektor | kota | sektor and kota, tahun, bulan) totals are kept, whose size depends
on the number of sectors, kotas and months, never on the number of UMKMs. For every UMKM it fixes
counted_* and the denormalised names of its rows, its quarter totals and its summary_terakhir;
then it sets the dashboard counters to the exact values (counters cannot be assigned: it reads
each one and adds the difference) and the key lists. Likewise each UMKM's umkm_counted row and
the profile counts of umkm_counts (db/writes/umkm_counts.py), kept per (scope, name): bounded too,
and the flagged count of every year (flagged_counts: the rows with is_flagged, kept per year).

Run it while writes are quiet: a write landing between reading a counter and adding the
difference would be undone by that difference (a second run then converges).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.cassandra import Cassandra, Row
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import aggregates, umkm_counts

BATCH = 64
# Lightweight transactions in flight per batch. With the commit log synced on every write (the
# durable `make run` set-up) each Paxos round waits for the disk; 128 in flight timed out
# (WriteTimeout after contention) while seeding 2,000 UMKMs, 16 keep the disk busy without that.
ROW_WRITES = 16
PROJECTION = {
    "_id": 1,
    "nama_usaha": 1,
    "sektor": 1,
    "wilayah.kota": 1,
    "legalitas.status_verifikasi": 1,
    "is_deleted": 1,
    "summary_terakhir": 1,
}

Cell = tuple[str, int, int]  # (sektor or kota, tahun, bulan)
PairCell = tuple[str, int, str, int]  # (sektor, tahun, kota, bulan): the pair table's key order


@dataclass
class RebuildReport:
    umkms: int = 0
    logs: int = 0
    rows_recounted: int = 0
    rows_renamed: int = 0
    summaries_fixed: int = 0
    quarter_cells_fixed: int = 0
    sector_cells_fixed: int = 0
    region_cells_fixed: int = 0
    pair_cells_fixed: int = 0
    counted_rows_fixed: int = 0
    count_cells_fixed: int = 0
    flag_cells_fixed: int = 0
    keys_added: int = 0
    keys_removed: int = 0

    @property
    def fixed(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self) if f.name not in ("umkms", "logs"))

    def __str__(self) -> str:
        parts = ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))
        return f"aggregates rebuilt ({parts})"


@dataclass
class _Totals:
    sector: defaultdict[Cell, list[int]]
    region: defaultdict[Cell, list[int]]
    pair: defaultdict[PairCell, list[int]]
    counts: dict[tuple[str, str], int]  # umkm_counts: (scope, name) -> UMKMs
    flagged: defaultdict[int, int]  # flagged_counts: tahun -> flagged rows


QuarterCell = tuple[uuid.UUID, int, int]  # (umkm_id, tahun, quarter)


async def quarter_rows(
    cass: Cassandra, umkm_ids: list[uuid.UUID], years: list[int]
) -> dict[QuarterCell, tuple[int, int]]:
    """Current quarter totals of a batch of UMKMs: one multi-partition read."""
    if not umkm_ids or not years:
        return {}
    buckets = sorted({aggregates.quarter_bucket(u) for u in umkm_ids})
    rows = await cass.execute(
        "SELECT umkm_id, tahun, quarter, total_omzet, months FROM umkm_quarter_totals "
        "WHERE tahun IN ? AND quarter IN ? AND bucket IN ? AND umkm_id IN ?",
        (years, [1, 2, 3, 4], buckets, umkm_ids),
    )
    return {
        (r["umkm_id"], r["tahun"], r["quarter"]): (r["total_omzet"] or 0, r["months"] or 0)
        for r in rows
    }


async def fix_quarters(
    cass: Cassandra,
    umkm_id: uuid.UUID,
    rows: list[Row],
    current: dict[QuarterCell, tuple[int, int]],
) -> int:
    exact: dict[QuarterCell, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        c = aggregates.counted(r)
        if c is not None:
            cell = exact[(umkm_id, r["tahun"], aggregates.quarter_of(r["bulan"]))]
            cell[0] += c.omzet
            cell[1] += 1
    bucket = aggregates.quarter_bucket(umkm_id)
    mine = {k for k in current if k[0] == umkm_id} | set(exact)
    fixes = []
    for key in mine:
        have = current.get(key, (0, 0))
        want = exact.get(key, [0, 0])
        d_omzet, d_months = want[0] - have[0], want[1] - have[1]
        if d_omzet or d_months:
            _, y, q = key
            fixes.append(
                cass.execute(aggregates.QUARTER_ADD, (d_omzet, d_months, y, q, bucket, umkm_id))
            )
    await asyncio.gather(*fixes)
    return len(fixes)


async def _one_umkm(
    dbs: Databases,
    doc: MongoDoc,
    found: list[Row],
    quarters: dict[QuarterCell, tuple[int, int]],
    totals: _Totals,
    report: RebuildReport,
    gate: asyncio.Semaphore,
) -> None:
    cass = dbs.cassandra
    umkm_id: uuid.UUID = doc["_id"]

    async def sync(row: Row) -> Row:
        async with gate:
            fixed, recounted, renamed = await aggregates.sync_row(cass, doc, row, apply=False)
        report.rows_recounted += recounted
        report.rows_renamed += renamed
        return fixed

    # One UMKM's rows share partitions: their lightweight transactions go one after another
    # (concurrent ones on one partition contend and time out on a busy node); the gate's
    # concurrency comes from the other UMKMs of the batch, i.e. other partitions.
    rows = [await sync(r) for r in found]
    report.logs += len(rows)
    for r in rows:
        if r.get("is_flagged"):
            totals.flagged[r["tahun"]] += 1
        c = aggregates.counted(r)
        if c is not None:
            cells = (
                totals.sector[(c.sektor, r["tahun"], r["bulan"])],
                totals.region[(c.kota, r["tahun"], r["bulan"])],
                totals.pair[(c.sektor, r["tahun"], c.kota, r["bulan"])],
            )
            for cell in cells:
                cell[0] += c.omzet
                cell[1] += 1
    # Not `report.x += await ...`: that reads x before awaiting and loses concurrent updates.
    fixed_quarters = await fix_quarters(cass, umkm_id, rows, quarters)
    report.quarter_cells_fixed += fixed_quarters
    newest = max(rows, key=lambda r: (r["tahun"], r["bulan"]), default=None)
    summary = aggregates.summary_of(newest)
    if doc.get("summary_terakhir") != summary:
        await dbs.mongo[umkm_profiles.COLLECTION].update_one(
            {"_id": umkm_id},
            {
                "$set": {"summary_terakhir": summary},
                "$unset": {"summary_at": ""},
            },
        )
        report.summaries_fixed += 1


async def _batch(
    dbs: Databases, docs: list[MongoDoc], totals: _Totals, report: RebuildReport
) -> None:
    """One batch of profiles: four multi-partition reads, then per-UMKM fixes concurrently."""
    cass = dbs.cassandra
    ids = [d["_id"] for d in docs]
    gate = asyncio.Semaphore(ROW_WRITES)  # bounded LWTs in flight per batch
    years_by, recorded = await asyncio.gather(
        fl.years_of(cass, ids), umkm_counts.counted_rows(cass, ids)
    )
    stale = []
    for d in docs:
        want = umkm_counts.counted_of(d)
        umkm_counts.add(totals.counts, want)
        if recorded.get(d["_id"], umkm_counts.NOTHING) != want:
            stale.append(umkm_counts.put_counted(cass, d["_id"], want))
    await asyncio.gather(*stale)
    report.counted_rows_fixed += len(stale)
    years = sorted({y for ys in years_by.values() for y in ys})
    logs, quarters = await asyncio.gather(
        fl.logs_in(cass, ids, years), quarter_rows(cass, ids, years)
    )
    await asyncio.gather(
        *(
            _one_umkm(
                dbs,
                d,
                [r for y in years_by[d["_id"]] for r in logs.get((d["_id"], y), [])],
                quarters,
                totals,
                report,
                gate,
            )
            for d in docs
        )
    )


async def _fix_counters(
    cass: Cassandra,
    table: str,
    key_cols: tuple[str, ...],
    count_col: str,
    exact: dict[Any, list[int]],
) -> int:
    """Sets every counter row of `table` to the exact value (read it, add the difference).
    `key_cols` is the primary key in the order of the keys of `exact`."""
    current: dict[tuple[Any, ...], tuple[int, int]] = {}
    page: bytes | None = None
    cols = ", ".join(key_cols)
    while True:  # paged scan: the table is small (names x months), not one row per UMKM
        rows, page = await cass.execute_page(
            f"SELECT {cols}, total_omzet, {count_col} FROM {table}", (), 1000, page
        )
        for r in rows:
            key = tuple(r[c] for c in key_cols)
            current[key] = (r["total_omzet"] or 0, r[count_col] or 0)
        if page is None:
            break
    where = " AND ".join(f"{c} = ?" for c in key_cols)
    cql = (
        f"UPDATE {table} SET total_omzet = total_omzet + ?, {count_col} = {count_col} + ? "
        f"WHERE {where}"
    )
    fixes = []
    for key in set(current) | set(exact):
        have = current.get(key, (0, 0))
        want = exact.get(key, [0, 0])
        if (want[0], want[1]) != have:
            fixes.append((want[0] - have[0], want[1] - have[1], *key))
    gate = asyncio.Semaphore(64)

    async def one(params: tuple[Any, ...]) -> None:
        async with gate:
            await cass.execute(cql, params)

    await asyncio.gather(*(one(p) for p in fixes))
    return len(fixes)


async def _fix_keys(cass: Cassandra, totals: _Totals, report: RebuildReport) -> None:
    want = {("sektor", t, n) for (n, t, _), v in totals.sector.items() if v[1]}
    want |= {("kota", t, n) for (n, t, _), v in totals.region.items() if v[1]}
    have: set[tuple[str, int, str]] = set()
    page: bytes | None = None
    while True:
        rows, page = await cass.execute_page(
            "SELECT dimension, tahun, name FROM dashboard_keys", (), 1000, page
        )
        have |= {(r["dimension"], r["tahun"], r["name"]) for r in rows}
        if page is None:
            break
    add, remove = want - have, have - want
    await asyncio.gather(*(cass.execute(aggregates.KEY_ADD, k) for k in add))
    await asyncio.gather(
        *(
            cass.execute(
                "DELETE FROM dashboard_keys WHERE dimension = ? AND tahun = ? AND name = ?", k
            )
            for k in remove
        )
    )
    report.keys_added += len(add)
    report.keys_removed += len(remove)


async def _fix_flagged(cass: Cassandra, exact: dict[int, int]) -> int:
    """Sets every year's flagged count to the rows counted (read it, add the difference)."""
    current = await fl.flagged_counts(cass)
    fixes = {
        tahun: exact.get(tahun, 0) - current.get(tahun, 0)
        for tahun in set(current) | set(exact)
        if exact.get(tahun, 0) != current.get(tahun, 0)
    }
    await asyncio.gather(*(fl.add_flagged(cass, tahun, d) for tahun, d in fixes.items()))
    return len(fixes)


async def rebuild_aggregates(dbs: Databases) -> RebuildReport:
    report = RebuildReport()
    totals = _Totals(
        defaultdict(lambda: [0, 0]),
        defaultdict(lambda: [0, 0]),
        defaultdict(lambda: [0, 0]),
        {},
        defaultdict(int),
    )
    batch: list[MongoDoc] = []

    async def flush() -> None:
        if batch:
            await _batch(dbs, batch, totals, report)
        report.umkms += len(batch)
        batch.clear()

    cursor = dbs.mongo[umkm_profiles.COLLECTION].find({}, PROJECTION).batch_size(500)
    async for doc in cursor:
        batch.append(doc)
        if len(batch) >= BATCH:
            await flush()
    await flush()
    cass = dbs.cassandra
    report.sector_cells_fixed = await _fix_counters(
        cass, "dashboard_sector_stats", ("sektor", "tahun", "bulan"), "total_umkm", totals.sector
    )
    report.region_cells_fixed = await _fix_counters(
        cass, "dashboard_region_stats", ("kota", "tahun", "bulan"), "umkm_aktif", totals.region
    )
    report.pair_cells_fixed = await _fix_counters(
        cass,
        "dashboard_sector_region_stats",
        ("sektor", "tahun", "kota", "bulan"),
        "jumlah_umkm",
        totals.pair,
    )
    report.count_cells_fixed = await umkm_counts.fix_counters(cass, totals.counts)
    report.flag_cells_fixed = await _fix_flagged(cass, totals.flagged)
    await _fix_keys(cass, totals, report)
    return report
