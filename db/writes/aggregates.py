"""Maintenance of the pre-aggregated tables (dashboards, quarter totals, summary_terakhir).

Design (docs/architecture.md, Two databases, one write order):
- A UMKM's months contribute to the aggregates only while it is VERIFIED and not deleted. The
  contribution of one log row is `(omzet, sektor, kota)` or none; the row stores the contribution
  it currently makes in `counted_omzet/counted_sektor/counted_kota`.
- Every write computes the desired contribution and applies `delta = desired - counted`, in this
  order: (1) write the log row with the new counted_* (an LWT naming the version read, so two
  writers never apply a delta computed from the same counted_*); (2) apply the counter deltas
  (dashboard_sector_stats, dashboard_region_stats, dashboard_sector_region_stats,
  umkm_quarter_totals: same delta everywhere, all in one concurrent batch);
  (3) update MongoDB `summary_terakhir` (ordered by MongoDB-issued tickets, not clocks: see
  refresh_summary).
- A crash after (1) leaves the counters as they were before the write: a new month is missing
  (under-count); a re-submitted month still shows its previous omzet. A retry of the same write
  finds counted == desired and applies nothing, so no delta is ever applied twice. An increment
  is not idempotent, so nothing can tell afterwards whether step (2) ran, or landed late: every
  write therefore records an intent first (db/write_intents.py), and the reconciler recomputes
  the cells of intents left open from the logs (db/maintenance/intent_repair.py) within a minute;
  `sigma-graphql rebuild-aggregates` (db/maintenance/rebuild.py) recomputes everything, for writes
  that bypassed the API.
- Each write costs O(1) statements, independent of the number of UMKMs. `on_umkm_changed`
  costs O(months of that UMKM).

Interface used by other domains:
- `on_umkm_changed(dbs, before, after)`: call after every write that changes an UMKM's
  status, is_deleted, sektor, wilayah.kota or nama_usaha, and after creating one (before = the
  document before the write, None on create; after = the document as written). It moves the
  UMKM's months into or out of the aggregates, re-denormalises the log rows and keeps the
  profile counts (umkm_counts) of the dashboards. It re-reads the stored profile rather than
  trusting `after`, so hooks of racing writes may run in any order (see follow_profile).
- `quarter_bucket(umkm_id)`: the bucket of umkm_quarter_totals an UMKM lives in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from pymongo import ReturnDocument

from db import financial_logs as fl
from db import umkm_profiles, write_intents
from db.drivers.cassandra import Cassandra, Row
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import umkm_counts

QUARTER_BUCKETS = 16
# Log rows of one UMKM re-synchronised at once (bounded concurrency per UMKM change).
ROW_CONCURRENCY = 32
# An LWT lost to a concurrent writer is retried this often before giving up loudly.
MAX_ATTEMPTS = 8


class Contribution(NamedTuple):
    omzet: int
    sektor: str
    kota: str


class ConcurrentWriteError(RuntimeError):
    """The same month kept changing under us; the caller may retry the whole operation."""


def quarter_bucket(umkm_id: uuid.UUID) -> int:
    """Stable across processes and versions (Python's hash() of a UUID is not documented)."""
    return umkm_id.int % QUARTER_BUCKETS


def quarter_of(bulan: int) -> int:
    return (bulan - 1) // 3 + 1


def counts(doc: MongoDoc | None) -> bool:
    """Whether this UMKM's months belong in the aggregates."""
    return bool(
        doc is not None
        and not doc.get("is_deleted")
        and (doc.get("legalitas") or {}).get("status_verifikasi") == "VERIFIED"
    )


def desired(doc: MongoDoc | None, omzet: int | None) -> Contribution | None:
    if omzet is None or not counts(doc):
        return None
    assert doc is not None
    return Contribution(int(omzet), doc["sektor"], doc["wilayah"]["kota"])


def counted(row: Row | None) -> Contribution | None:
    if row is None or row.get("counted_omzet") is None:
        return None
    return Contribution(int(row["counted_omzet"]), row["counted_sektor"], row["counted_kota"])


def counted_columns(c: Contribution | None) -> dict[str, Any]:
    if c is None:
        return {"counted_omzet": None, "counted_sektor": None, "counted_kota": None}
    return {"counted_omzet": c.omzet, "counted_sektor": c.sektor, "counted_kota": c.kota}


def denormalised(doc: MongoDoc) -> dict[str, Any]:
    return {
        "nama_usaha": doc["nama_usaha"],
        "sektor": doc["sektor"],
        "kota": doc["wilayah"]["kota"],
    }


SECTOR_ADD = (
    "UPDATE dashboard_sector_stats SET total_omzet = total_omzet + ?, total_umkm = total_umkm + ? "
    "WHERE sektor = ? AND tahun = ? AND bulan = ?"
)
REGION_ADD = (
    "UPDATE dashboard_region_stats SET total_omzet = total_omzet + ?, umkm_aktif = umkm_aktif + ? "
    "WHERE kota = ? AND tahun = ? AND bulan = ?"
)
PAIR_ADD = (
    "UPDATE dashboard_sector_region_stats SET total_omzet = total_omzet + ?, "
    "jumlah_umkm = jumlah_umkm + ? WHERE sektor = ? AND tahun = ? AND kota = ? AND bulan = ?"
)
QUARTER_ADD = (
    "UPDATE umkm_quarter_totals SET total_omzet = total_omzet + ?, months = months + ? "
    "WHERE tahun = ? AND quarter = ? AND bucket = ? AND umkm_id = ?"
)
KEY_ADD = "INSERT INTO dashboard_keys (dimension, tahun, name) VALUES (?, ?, ?)"


def _net(
    old: Contribution | None, new: Contribution | None, key: Callable[[Contribution], Hashable]
) -> dict[Any, tuple[int, int]]:
    """(omzet delta, count delta) per sektor, kota or (sektor, kota)."""
    out: dict[Any, list[int]] = {}
    for sign, c in ((-1, old), (1, new)):
        if c is not None:
            cell = out.setdefault(key(c), [0, 0])
            cell[0] += sign * c.omzet
            cell[1] += sign
    return {k: (v[0], v[1]) for k, v in out.items() if v != [0, 0]}


async def apply_delta(
    cass: Cassandra,
    umkm_id: uuid.UUID,
    tahun: int,
    bulan: int,
    old: Contribution | None,
    new: Contribution | None,
) -> int:
    """Moves one month's contribution from `old` to `new` (step 2); returns statements sent."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for sektor, (d_omzet, d_n) in _net(old, new, lambda c: c.sektor).items():
        calls.append((SECTOR_ADD, (d_omzet, d_n, sektor, tahun, bulan)))
    for kota, (d_omzet, d_n) in _net(old, new, lambda c: c.kota).items():
        calls.append((REGION_ADD, (d_omzet, d_n, kota, tahun, bulan)))
    for (sektor, kota), (d_omzet, d_n) in _net(old, new, lambda c: (c.sektor, c.kota)).items():
        calls.append((PAIR_ADD, (d_omzet, d_n, sektor, tahun, kota, bulan)))
    q_omzet = (new.omzet if new else 0) - (old.omzet if old else 0)
    q_months = (1 if new else 0) - (1 if old else 0)
    if q_omzet or q_months:
        key = (tahun, quarter_of(bulan), quarter_bucket(umkm_id), umkm_id)
        calls.append((QUARTER_ADD, (q_omzet, q_months, *key)))
    if new is not None:
        if old is None or old.sektor != new.sektor:
            calls.append((KEY_ADD, ("sektor", tahun, new.sektor)))
        if old is None or old.kota != new.kota:
            calls.append((KEY_ADD, ("kota", tahun, new.kota)))
    await asyncio.gather(*(cass.execute(cql, params) for cql, params in calls))
    return len(calls)


async def refresh_summary(dbs: Databases, umkm_id: uuid.UUID) -> MongoDoc | None:
    """Step 3: summary_terakhir := the latest month on record (not the last one entered).

    Concurrent writers of one UMKM each read the logs and then write MongoDB, and their writes
    may land in either order. No wall clock decides (API hosts' clocks may disagree): after its
    log write each writer takes a ticket (an atomic $inc of the profile's `summary_ticket`),
    THEN reads the logs, and writes its summary only if no larger ticket was written already
    (`summary_written`). A larger ticket was taken later, so its reading is at least as new; the
    largest ticket was taken after the last log write, so its reading is the final one. No
    retries: a write refused by a larger ticket leaves nothing to do. Two MongoDB statements
    and the log read; a crash in between leaves a stale summary for `rebuild-aggregates`.
    """
    profiles = dbs.mongo[umkm_profiles.COLLECTION]
    issued = await profiles.find_one_and_update(
        {"_id": umkm_id},
        {"$inc": {"summary_ticket": 1}},
        projection={"summary_ticket": 1},
        return_document=ReturnDocument.AFTER,
    )
    if issued is None:
        return None
    ticket: int = issued["summary_ticket"]
    summary = summary_of(await fl.latest(dbs.cassandra, umkm_id))  # after the ticket: see above
    await profiles.update_one(
        {
            "_id": umkm_id,
            "$or": [{"summary_written": None}, {"summary_written": {"$lt": ticket}}],
        },
        {
            "$set": {"summary_terakhir": summary, "summary_written": ticket},
            "$unset": {"summary_at": ""},  # the wall-clock ordering this replaced
        },
    )
    return summary


def summary_of(row: Row | None) -> MongoDoc | None:
    if row is None:
        return None
    return {"tahun": row["tahun"], "bulan": row["bulan"], "omzet": int(row["omzet"])}


async def sync_row(
    cass: Cassandra, doc: MongoDoc, row: Row, *, apply: bool = True
) -> tuple[Row, bool, bool]:
    """Brings one log row in line with its profile: counted_* (and the counters when `apply`)
    and the denormalised nama_usaha/sektor/kota. Returns (row as written, recounted, renamed).
    """
    for _ in range(MAX_ATTEMPTS):
        want = desired(doc, row["omzet"])
        have = counted(row)
        names = denormalised(doc)
        renamed = any(row.get(k) != v for k, v in names.items())
        if want == have and not renamed:
            return row, False, False
        values = {**names, **counted_columns(want)}
        if await fl.cas_update(cass, row, values, fl.version_of(row)):
            if apply:
                await apply_delta(cass, row["umkm_id"], row["tahun"], row["bulan"], have, want)
            return {**row, **values}, want != have, renamed
        fresh = await fl.get(cass, row["umkm_id"], row["tahun"], row["bulan"])
        if fresh is None:  # deleted meanwhile: the delete withdrew its own contribution
            return row, False, False
        row = fresh
    raise ConcurrentWriteError(f"log {row['umkm_id']} {row['tahun']}-{row['bulan']} kept changing")


async def resync_umkm(dbs: Databases, doc: MongoDoc, *, apply: bool = True) -> list[Row]:
    """Re-synchronises every month of one UMKM; returns its rows as they are now."""
    cass = dbs.cassandra
    umkm_id: uuid.UUID = doc["_id"]
    ys = await fl.years(cass, umkm_id)
    parts = await asyncio.gather(*(fl.partition(cass, umkm_id, y) for y in ys))
    gate = asyncio.Semaphore(ROW_CONCURRENCY)

    async def one(row: Row) -> Row:
        async with gate:
            return (await sync_row(cass, doc, row, apply=apply))[0]

    return list(await asyncio.gather(*(one(r) for rows in parts for r in rows)))


async def recheck_month(
    dbs: Databases, doc: MongoDoc, umkm_id: uuid.UUID, tahun: int, bulan: int
) -> None:
    """After a log write made from `doc` as its caller read it: brings the month in line with
    the profile as stored now.

    A profile write that landed between the caller's read and the row write had its hook list
    the months before this one existed, so the hook cannot fix it; but then that profile is in
    MongoDB before this re-read, which sees it. Re-read until the profile stops moving (the
    reasoning of follow_profile). One MongoDB read when nothing raced, O(1) either way.
    """
    done = doc
    for _ in range(MAX_ATTEMPTS):
        fresh = await umkm_profiles.find_by_id(dbs.mongo, umkm_id)
        if fresh is None or _relevant(fresh) == _relevant(done):
            return
        row = await fl.get(dbs.cassandra, umkm_id, tahun, bulan)
        if row is None:  # deleted meanwhile: the delete withdrew its own contribution
            return
        # Cells of neither the caller's intent nor (maybe) the racing write's: an intent of its own
        moved = [counted(row), desired(fresh, row["omzet"])]
        intent = await write_intents.open_log(dbs.cassandra, umkm_id, tahun, bulan, moved)
        await sync_row(dbs.cassandra, fresh, row)
        await write_intents.finish(dbs.cassandra, [intent])
        done = fresh
    raise ConcurrentWriteError(f"UMKM {umkm_id} kept changing")


async def recheck_months(
    dbs: Databases, doc: MongoDoc, umkm_id: uuid.UUID, months: list[tuple[int, int]]
) -> None:
    """recheck_month for several months written from the same `doc`: one MongoDB read when
    nothing raced (db/writes/financial.py submit_months)."""
    fresh = await umkm_profiles.find_by_id(dbs.mongo, umkm_id)
    if fresh is None or _relevant(fresh) == _relevant(doc):
        return
    for tahun, bulan in months:
        await recheck_month(dbs, doc, umkm_id, tahun, bulan)


def _relevant(doc: MongoDoc) -> tuple[Any, ...]:
    return (
        counts(doc),
        doc.get("sektor"),
        (doc.get("wilayah") or {}).get("kota"),
        doc.get("nama_usaha"),
    )


async def on_umkm_changed(dbs: Databases, before: MongoDoc | None, after: MongoDoc) -> None:
    """Moves the UMKM's months into/out of the aggregates (and to its new sektor/kota), and
    brings the profile counts (db/writes/umkm_counts.py) in line with the profile as stored now.

    `before`/`after` only tell whether this write could move anything; what the months are
    synchronised with is the profile re-read from MongoDB (`follow_profile`), so hooks of racing
    writes may run in any order, or interleave, and the last one leaves the months matching the
    latest profile. Idempotent: calling it twice, or after a crash halfway, converges on the same
    state.
    """
    await umkm_counts.sync(dbs, after["_id"])  # reads the stored profile: `before` is not trusted
    if before is None:  # a new UMKM has no months yet
        return
    if _relevant(before) == _relevant(after):
        return
    await follow_profile(dbs, after["_id"])


async def follow_profile(dbs: Databases, umkm_id: uuid.UUID) -> MongoDoc | None:
    """Re-synchronises the UMKM's months with its stored profile until the profile stops moving.

    Why this converges on the latest profile: a pass that wrote a month from an older profile
    P1 over a newer P2 did so after P2 was stored (P2's own hook only starts after its MongoDB
    write), so the re-read that ends the pass sees P2 (or newer) and runs another pass. Only the
    fields that decide a month's contribution and denormalised names are compared (`_relevant`),
    so an unrelated write (or one that set the same values back) stops the loop. Costs O(months
    of this UMKM) per pass and one MongoDB read; more than one pass only under racing writes.
    """
    done: MongoDoc | None = None
    for _ in range(MAX_ATTEMPTS):
        doc = await umkm_profiles.find_by_id(dbs.mongo, umkm_id)
        if doc is None or (done is not None and _relevant(doc) == _relevant(done)):
            return doc
        await resync_umkm(dbs, doc)
        done = doc
    raise ConcurrentWriteError(f"UMKM {umkm_id} kept changing")
