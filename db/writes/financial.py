"""The ordered write flows of monthly logs across Cassandra and MongoDB.

Order of every flow (see db/writes/aggregates.py for the reasoning):
  (0) an intent naming the month and the (sektor, kota) cells it may move (db/write_intents.py),
  (1) the log row, with its new counted_* (LWT on the version read; umkm_log_years first),
  (2) counter deltas (sector, region, quarter totals) and side rows (audit, flag index),
  (2b) submit only: the profile is re-read and the month re-synchronised if it moved meanwhile
       (aggregates.recheck_month: the hook of a racing profile write may have missed the row),
  (3) MongoDB summary_terakhir,
  (4) the intent marked done.
Flag writes (flag, unflag, and delete of a flagged month) keep the year's flagged count
(flagged_counts) the same way: (0) an intent of kind FLAG, (1) the row's is_flagged flipped by an
LWT, (2) +1 / -1 only when that LWT applied (a repeat finds the flag as wanted and moves nothing),
(3) the intent done, then the owner's notification. A crash after (1) leaves the count one flip
behind, never ahead; its open intent is repaired by recounting the year.
For the revenue writes, a crash after (1) under-counts, never double counts. Retrying the same
call applies nothing twice; the reconciler repairs the cells of an intent left open
(db/maintenance/intent_repair.py) within a minute, and `sigma-graphql rebuild-aggregates`
remains the full recomputation. Tests kill the process right after step (1) through
SIGMA_TEST_CRASH_AT=after_log_row (after_flag_row for the flag writes; fault_point below), or
take Cassandra away there (db.writes.crash.set_fault_hook).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import financial_logs as fl
from db import notifications, write_intents
from db.drivers.cassandra import Cassandra, Row
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import aggregates
from db.writes.crash import CRASH_ENV as CRASH_ENV  # re-exported: tests name it through this module
from db.writes.crash import fault_point
from sigma_graphql.core.pubsub import PubSub

BULAN = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


@dataclass
class Submitted:
    row: Row
    previous: Row | None


async def submit(
    dbs: Databases,
    doc: MongoDoc,
    *,
    tahun: int,
    bulan: int,
    omzet: int,
    jumlah_karyawan: int,
    catatan: str | None,
    by: uuid.UUID | None,
) -> Submitted:
    """Creates or replaces one month. The caller has validated the input and the access."""
    cass = dbs.cassandra
    umkm_id: uuid.UUID = doc["_id"]
    want = aggregates.desired(doc, omzet)
    intents = write_intents.LogIntents(cass, umkm_id, tahun, bulan)
    # (0) the intent, and the year before the row: readers find every partition
    await asyncio.gather(intents.cover([want]), fl.add_year(cass, umkm_id, tahun))
    month = Month(bulan, omzet, jumlah_karyawan, catatan, previous=None)
    old, values = await _write_row(cass, intents, doc, tahun, month, want, by, read_first=True)
    key = {"umkm_id": umkm_id, "tahun": tahun, "bulan": bulan}
    await fault_point("after_log_row")
    steps: list[Coroutine[Any, Any, object]] = [
        aggregates.apply_delta(cass, umkm_id, tahun, bulan, aggregates.counted(old), want)
    ]
    if old is not None:
        steps.append(fl.insert_audit(cass, old, values, by))
    await asyncio.gather(*steps)
    # `doc` may be older than the profile now: a racing sektor/kota/status change (step 2b)
    await aggregates.recheck_month(dbs, doc, umkm_id, tahun, bulan)
    await aggregates.refresh_summary(dbs, umkm_id)
    await intents.finish()  # (4)
    if old is None:
        row = {**key, **values, "is_flagged": False}
        row.update(flag_reason=None, flagged_by=None, flagged_by_name=None, flagged_at=None)
    else:
        row = {**old, **values}  # the flag stays until staff clear it
    return Submitted(row, old)


@dataclass(frozen=True)
class Month:
    """One month of submit_months: the values to store, and the row as the caller read it
    (a hint that saves a read; the LWT tells when it moved, and then the row is read again)."""

    bulan: int
    omzet: int
    jumlah_karyawan: int
    catatan: str | None
    previous: Row | None


async def _write_row(
    cass: Cassandra,
    intent: write_intents.LogIntents,
    doc: MongoDoc,
    tahun: int,
    month: Month,
    want: aggregates.Contribution | None,
    by: uuid.UUID | None,
    *,
    read_first: bool,
) -> tuple[Row | None, dict[str, Any]]:
    """Step (1) of `submit` and `submit_months`: the log row, by a lightweight transaction on
    the version read (insert when there is none). `read_first` reads the row before the first
    attempt; otherwise `month.previous` (read by the caller, its counted_* already covered by the
    intent) is tried first. A lost race reads again and widens the intent to what the new row
    counted. Returns the row replaced (None: new) and the values written."""
    umkm_id: uuid.UUID = doc["_id"]
    old = month.previous
    for attempt in range(aggregates.MAX_ATTEMPTS):
        if attempt or read_first:
            old = await fl.get(cass, umkm_id, tahun, month.bulan)
            await intent.cover([aggregates.counted(old)])  # a write only for another sektor/kota
        values: dict[str, Any] = {
            "omzet": month.omzet,
            "jumlah_karyawan": month.jumlah_karyawan,
            "catatan": month.catatan,
            "tanggal_input": fl.now_ms(),
            "input_by": by,
            **aggregates.denormalised(doc),
            **aggregates.counted_columns(want),
        }
        if old is None:
            key = {"umkm_id": umkm_id, "tahun": tahun, "bulan": month.bulan}
            applied = await fl.insert_new(cass, {**key, **values})
        else:
            applied = await fl.cas_update(cass, old, values, fl.version_of(old))
        if applied:
            return old, values
    raise aggregates.ConcurrentWriteError(f"log {umkm_id} {tahun}-{month.bulan} kept changing")


async def submit_months(
    dbs: Databases,
    doc: MongoDoc,
    tahun: int,
    months: Sequence[Month],
    *,
    by: uuid.UUID | None,
) -> None:
    """`submit` for several months of one partition (an UMKM's year) at once: the imports
    (resolvers/imports.py). Same steps in the same order, each month's row written as in
    `submit` (its own intent, LWT on the version read, delta from counted_*, audit row when
    replaced, flag kept), with the statements of one step sent together: (0) every month's
    intent and the year, (1) the rows one after the other (LWTs on one partition at once would
    contend), (2) all deltas and audit rows, (2b) one re-read of the profile for all months,
    (3) one summary refresh, (4) every intent done. The intents live as long as the partition's
    write (at most 12 months), so the repair age still exceeds a live write."""
    if not months:
        return
    cass = dbs.cassandra
    umkm_id: uuid.UUID = doc["_id"]
    intents = [write_intents.LogIntents(cass, umkm_id, tahun, m.bulan) for m in months]
    wants = [aggregates.desired(doc, m.omzet) for m in months]
    await asyncio.gather(  # (0)
        *(
            intent.cover([want, aggregates.counted(m.previous)])
            for intent, want, m in zip(intents, wants, months, strict=True)
        ),
        fl.add_year(cass, umkm_id, tahun),
    )
    steps: list[Coroutine[Any, Any, object]] = []
    for m, want, intent in zip(months, wants, intents, strict=True):  # (1)
        old, values = await _write_row(cass, intent, doc, tahun, m, want, by, read_first=False)
        steps.append(
            aggregates.apply_delta(cass, umkm_id, tahun, m.bulan, aggregates.counted(old), want)
        )
        if old is not None:
            steps.append(fl.insert_audit(cass, old, values, by))
    await fault_point("after_log_row")
    await asyncio.gather(*steps)  # (2)
    await aggregates.recheck_months(dbs, doc, umkm_id, [(tahun, m.bulan) for m in months])
    await aggregates.refresh_summary(dbs, umkm_id)  # (3)
    await write_intents.finish(cass, [i.intent for i in intents if i.intent is not None])  # (4)


async def delete(dbs: Databases, umkm_id: uuid.UUID, tahun: int, bulan: int) -> Row | None:
    """Removes one month; returns the removed row (None: there was none).

    The contribution is withdrawn first (counted_* := none, then the negative delta), and only
    then the row is deleted, so a crash in between leaves an uncounted row, never a counted ghost.
    The delete names the flag it read (a flag or unflag landing meanwhile makes it read again),
    so a flagged month leaves the year's flagged count exactly once, under a FLAG intent.
    """
    cass = dbs.cassandra
    intents = write_intents.LogIntents(cass, umkm_id, tahun, bulan)
    flag_intent: write_intents.Intent | None = None
    for _ in range(aggregates.MAX_ATTEMPTS):
        row = await fl.get(cass, umkm_id, tahun, bulan)
        if row is None:
            await intents.finish()
            await write_intents.finish(cass, [flag_intent] if flag_intent else [])
            return None
        have = aggregates.counted(row)
        if row.get("is_flagged") and flag_intent is None:  # (0), before anything changes
            flag_intent, _ = await asyncio.gather(
                write_intents.open_flag(cass, umkm_id, tahun, bulan), intents.cover([have])
            )
        else:
            await intents.cover([have])
        if have is not None:
            cleared = aggregates.counted_columns(None)
            if not await fl.cas_update(cass, row, cleared, fl.version_of(row)):
                continue
            await fault_point("after_log_row")
            await aggregates.apply_delta(cass, umkm_id, tahun, bulan, have, None)
            row = {**row, **cleared}
        if await fl.cas_delete(cass, row, {**fl.version_of(row), "is_flagged": row["is_flagged"]}):
            break
    else:
        raise aggregates.ConcurrentWriteError(f"log {umkm_id} {tahun}-{bulan} kept changing")
    if row.get("is_flagged"):
        await fault_point("after_flag_row")
        unflagged: list[Coroutine[Any, Any, object]] = [fl.add_flagged(cass, tahun, -1)]
        if row.get("flagged_at") is not None:
            unflagged.append(fl.unindex_flag(cass, tahun, row["flagged_at"], umkm_id, bulan))
        await asyncio.gather(*unflagged)
    await aggregates.refresh_summary(dbs, umkm_id)
    await asyncio.gather(
        intents.finish(), write_intents.finish(cass, [flag_intent] if flag_intent else [])
    )
    return row


def _periode(tahun: int, bulan: int) -> str:
    return f"{BULAN[bulan - 1]} {tahun}"


async def flag(
    dbs: Databases,
    pubsub: PubSub,
    doc: MongoDoc,
    *,
    tahun: int,
    bulan: int,
    reason: str,
    by: uuid.UUID | None,
    by_name: str | None,
) -> tuple[str, Row | None]:
    """'ok' | 'missing' | 'already'. One LWT decides, so concurrent flags notify once.

    Order: (0) the FLAG intent and the flagged_logs entry, then (1) the LWT, (2) the year's
    flagged count +1 (only when the LWT applied: a flag of a flagged month moves nothing),
    (3) the intent done, then the notification (it moves no count). An entry whose LWT failed
    (or never ran: crash) is stale, and readers skip entries whose log does not carry the same
    flagged_at, so no flagged month is ever missing from the staff list (nor from the repair's
    recount).
    """
    cass = dbs.cassandra
    umkm_id: uuid.UUID = doc["_id"]
    at = fl.now_ms()
    intent, _ = await asyncio.gather(
        write_intents.open_flag(cass, umkm_id, tahun, bulan),
        fl.index_flag(cass, tahun, at, umkm_id, bulan),
    )
    applied, current = await fl.set_flag(
        cass, umkm_id, tahun, bulan, reason=reason, by=by, by_name=by_name, at=at
    )
    if not applied:
        # The winner may have flagged within the same millisecond: then the entry is its too.
        winner = await fl.get(cass, umkm_id, tahun, bulan)
        if winner is None or fl.utc(winner.get("flagged_at")) != at:
            await fl.unindex_flag(cass, tahun, at, umkm_id, bulan)
        await write_intents.finish(cass, [intent])
        return ("missing" if current is None else "already"), None
    await fault_point("after_flag_row")
    await fl.add_flagged(cass, tahun, 1)
    await write_intents.finish(cass, [intent])
    if doc.get("owner_id") is not None:
        await notifications.create(
            dbs,
            pubsub,
            owner_id=doc["owner_id"],
            type="FINANCIAL_FLAGGED",
            title="Laporan keuangan ditandai",
            message=(
                f"Laporan omzet {_periode(tahun, bulan)} untuk {doc['nama_usaha']} ditandai "
                f"oleh {by_name or 'petugas'}: {reason}"
            ),
            umkm_id=umkm_id,
            tahun=tahun,
            bulan=bulan,
            flag_reason=reason,
            flagged_by_name=by_name,
        )
    return "ok", await fl.get(cass, umkm_id, tahun, bulan)


async def unflag(
    dbs: Databases,
    pubsub: PubSub,
    doc: MongoDoc,
    *,
    tahun: int,
    bulan: int,
    by_name: str | None,
) -> tuple[str, Row | None]:
    """'ok' | 'missing' | 'not_flagged'. The order of `flag`: the intent (with the read of the
    row), the LWT, the count -1 (only when it applied) with the index entry's removal, the
    intent done, the notification."""
    cass = dbs.cassandra
    umkm_id: uuid.UUID = doc["_id"]
    before, intent = await asyncio.gather(
        fl.get(cass, umkm_id, tahun, bulan), write_intents.open_flag(cass, umkm_id, tahun, bulan)
    )
    if before is None:
        await write_intents.finish(cass, [intent])
        return "missing", None
    applied, current = await fl.clear_flag(cass, umkm_id, tahun, bulan)
    if not applied:
        await write_intents.finish(cass, [intent])
        return ("missing" if current is None else "not_flagged"), None
    await fault_point("after_flag_row")
    steps: list[Coroutine[Any, Any, object]] = [fl.add_flagged(cass, tahun, -1)]
    flagged_at: datetime | None = before.get("flagged_at")
    if flagged_at is not None:
        steps.append(fl.unindex_flag(cass, tahun, flagged_at, umkm_id, bulan))
    await asyncio.gather(*steps)
    await write_intents.finish(cass, [intent])
    if doc.get("owner_id") is not None:
        await notifications.create(
            dbs,
            pubsub,
            owner_id=doc["owner_id"],
            type="FINANCIAL_UNFLAGGED",
            title="Tanda laporan keuangan dicabut",
            message=(
                f"Tanda pada laporan omzet {_periode(tahun, bulan)} untuk {doc['nama_usaha']} "
                f"telah dicabut oleh {by_name or 'petugas'}."
            ),
            umkm_id=umkm_id,
            tahun=tahun,
            bulan=bulan,
        )
    return "ok", await fl.get(cass, umkm_id, tahun, bulan)
