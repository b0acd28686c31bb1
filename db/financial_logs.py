"""Repository of monthly revenue logs (Cassandra `umkm_financial_log` and its side tables).

Only statements live here; the ordered two-database write flows are in db/writes/financial.py and
the aggregate arithmetic in db/writes/aggregates.py.

Concurrency: every write to a log row is a lightweight transaction (LWT) that names the version
it read, `tanggal_input` plus the `counted_*` columns. Two writers of one month can therefore
never both apply a delta computed from the same `counted_*`: the loser re-reads and recomputes.
All writes of a row being LWTs also avoids mixing Paxos and plain writes on the same cells.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cassandra.util import uuid_from_time

from db.drivers.cassandra import Cassandra, Row

TABLE = "umkm_financial_log"
# What a version check compares: a row changed by anyone else since we read it fails the LWT.
VERSION = ("tanggal_input", "counted_omzet", "counted_sektor", "counted_kota")
COLUMNS = (
    "umkm_id, tahun, bulan, omzet, jumlah_karyawan, catatan, tanggal_input, input_by, "
    "nama_usaha, sektor, kota, is_flagged, flag_reason, flagged_by, flagged_by_name, flagged_at, "
    "counted_omzet, counted_sektor, counted_kota"
)
# IN lists stay small so one coordinator never fans out to an unbounded number of partitions.
MAX_IN = 100


def now_ms() -> datetime:
    """Now, truncated to milliseconds (Cassandra timestamps), so values read back compare equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def utc(value: datetime | None) -> datetime | None:
    """The driver returns naive UTC datetimes; the API speaks aware ones."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _chunks(items: Sequence[Any], size: int = MAX_IN) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------- reads


async def get(cass: Cassandra, umkm_id: uuid.UUID, tahun: int, bulan: int) -> Row | None:
    rows = await cass.execute(
        f"SELECT {COLUMNS} FROM {TABLE} WHERE umkm_id = ? AND tahun = ? AND bulan = ?",
        (umkm_id, tahun, bulan),
    )
    return rows[0] if rows else None


async def partition(cass: Cassandra, umkm_id: uuid.UUID, tahun: int) -> list[Row]:
    """One UMKM's months of one year, newest first."""
    return await cass.execute(
        f"SELECT {COLUMNS} FROM {TABLE} WHERE umkm_id = ? AND tahun = ?", (umkm_id, tahun)
    )


async def years(cass: Cassandra, umkm_id: uuid.UUID) -> list[int]:
    """Years with logs (possibly emptied by deletes), newest first."""
    rows = await cass.execute("SELECT tahun FROM umkm_log_years WHERE umkm_id = ?", (umkm_id,))
    return [r["tahun"] for r in rows]


async def years_of(cass: Cassandra, umkm_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
    """Years per UMKM for many UMKMs: one multi-partition read per 100 UMKMs."""
    found: dict[uuid.UUID, list[int]] = {u: [] for u in umkm_ids}
    pages = await cass.execute_concurrent(
        "SELECT umkm_id, tahun FROM umkm_log_years WHERE umkm_id IN ?",
        [(list(chunk),) for chunk in _chunks(list(umkm_ids))],
    )
    for rows in pages:
        for r in rows:
            found[r["umkm_id"]].append(r["tahun"])
    for ys in found.values():
        ys.sort(reverse=True)
    return found


async def logs_in(
    cass: Cassandra, umkm_ids: Sequence[uuid.UUID], tahun: Iterable[int]
) -> dict[tuple[uuid.UUID, int], list[Row]]:
    """All months of the given UMKMs x years, one multi-partition read per 100 UMKMs.

    Partition reads of a batch are issued together (one request per chunk, the coordinator fans
    out), so a page of 50 UMKMs costs the same number of round trips as a page of one.
    """
    year_list = sorted(set(tahun))
    out: dict[tuple[uuid.UUID, int], list[Row]] = {}
    if not umkm_ids or not year_list:
        return out
    pages = await cass.execute_concurrent(
        f"SELECT {COLUMNS} FROM {TABLE} WHERE umkm_id IN ? AND tahun IN ?",
        [(list(chunk), year_list) for chunk in _chunks(list(dict.fromkeys(umkm_ids)))],
    )
    for rows in pages:
        _group_partitions(rows, out)
    for rows in out.values():
        rows.sort(key=_BULAN, reverse=True)
    return out


_BULAN = operator.itemgetter("bulan")


def _group_partitions(rows: list[Row], out: dict[tuple[uuid.UUID, int], list[Row]]) -> None:
    """Adds `rows` to `out` by (umkm_id, tahun). Cassandra answers a multi-partition read
    partition by partition, so each run of rows of one partition goes in as one slice: no
    dictionary look-up per row (a UUID key costs two Python calls to hash and compare) and no
    append per row (a staff page reads 1,200 rows). UUIDs are compared by their `int`."""
    start, count = 0, len(rows)
    while start < count:
        first = rows[start]
        uid, tahun = first["umkm_id"], first["tahun"]
        number = uid.int
        end = start + 1
        while end < count and rows[end]["tahun"] == tahun and rows[end]["umkm_id"].int == number:
            end += 1
        found = out.get((uid, tahun))
        if found is None:
            out[(uid, tahun)] = rows[start:end]
        else:
            found.extend(rows[start:end])
        start = end


async def latest(cass: Cassandra, umkm_id: uuid.UUID) -> Row | None:
    """The largest (tahun, bulan) on record: walk the years newest first, one row each."""
    for tahun in await years(cass, umkm_id):
        rows = await cass.execute(
            f"SELECT tahun, bulan, omzet FROM {TABLE} WHERE umkm_id = ? AND tahun = ? LIMIT 1",
            (umkm_id, tahun),
        )
        if rows:
            return rows[0]
    return None


# ---------------------------------------------------------------- writes (all LWT on the row)


async def add_year(cass: Cassandra, umkm_id: uuid.UUID, tahun: int) -> None:
    await cass.execute(
        "INSERT INTO umkm_log_years (umkm_id, tahun) VALUES (?, ?)", (umkm_id, tahun)
    )


async def insert_new(cass: Cassandra, values: Mapping[str, Any]) -> bool:
    """Creates the month if it does not exist yet (is_flagged starts false: flags use LWT)."""
    cols = [*values.keys(), "is_flagged"]
    cql = (
        f"INSERT INTO {TABLE} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
        "IF NOT EXISTS"
    )
    rows = await cass.execute(cql, (*values.values(), False))
    return bool(rows[0]["[applied]"])


def version_of(row: Row) -> dict[str, Any]:
    return {c: row.get(c) for c in VERSION}


async def cas_update(
    cass: Cassandra, key: Row, values: Mapping[str, Any], expected: Mapping[str, Any]
) -> bool:
    """Sets `values` on the month if it still has the `expected` version; True when applied."""
    sets = ", ".join(f"{c} = ?" for c in values)
    conds = " AND ".join(f"{c} = ?" for c in expected)
    cql = f"UPDATE {TABLE} SET {sets} WHERE umkm_id = ? AND tahun = ? AND bulan = ? IF {conds}"
    params = (*values.values(), key["umkm_id"], key["tahun"], key["bulan"], *expected.values())
    rows = await cass.execute(cql, params)
    return bool(rows[0]["[applied]"])


async def cas_delete(cass: Cassandra, key: Row, expected: Mapping[str, Any]) -> bool:
    conds = " AND ".join(f"{c} = ?" for c in expected)
    rows = await cass.execute(
        f"DELETE FROM {TABLE} WHERE umkm_id = ? AND tahun = ? AND bulan = ? IF {conds}",
        (key["umkm_id"], key["tahun"], key["bulan"], *expected.values()),
    )
    return bool(rows[0]["[applied]"])


async def insert_audit(
    cass: Cassandra, old: Row, new: Mapping[str, Any], changed_by: uuid.UUID | None
) -> None:
    await cass.execute(
        "INSERT INTO financial_log_audit (umkm_id, tahun, bulan, changed_at, changed_by, "
        "old_omzet, new_omzet, old_jumlah_karyawan, new_jumlah_karyawan, old_catatan, "
        "new_catatan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            old["umkm_id"],
            old["tahun"],
            old["bulan"],
            uuid_from_time(datetime.now(UTC)),
            changed_by,
            old["omzet"],
            new["omzet"],
            old["jumlah_karyawan"],
            new["jumlah_karyawan"],
            old["catatan"],
            new["catatan"],
        ),
    )


async def audit_rows(cass: Cassandra, umkm_id: uuid.UUID, tahun: int, bulan: int) -> list[Row]:
    return await cass.execute(
        "SELECT * FROM financial_log_audit WHERE umkm_id = ? AND tahun = ? AND bulan = ?",
        (umkm_id, tahun, bulan),
    )


async def set_flag(
    cass: Cassandra,
    umkm_id: uuid.UUID,
    tahun: int,
    bulan: int,
    *,
    reason: str,
    by: uuid.UUID | None,
    by_name: str | None,
    at: datetime,
) -> tuple[bool, bool | None]:
    """Flags the month unless it is flagged already or missing (one winner under concurrency).

    Returns (applied, current is_flagged when not applied: None means the month is missing).
    """
    rows = await cass.execute(
        f"UPDATE {TABLE} SET is_flagged = true, flag_reason = ?, flagged_by = ?, "
        "flagged_by_name = ?, flagged_at = ? WHERE umkm_id = ? AND tahun = ? AND bulan = ? "
        "IF is_flagged = false",
        (reason, by, by_name, at, umkm_id, tahun, bulan),
    )
    return bool(rows[0]["[applied]"]), rows[0].get("is_flagged")


async def clear_flag(
    cass: Cassandra, umkm_id: uuid.UUID, tahun: int, bulan: int
) -> tuple[bool, bool | None]:
    rows = await cass.execute(
        f"UPDATE {TABLE} SET is_flagged = false, flag_reason = null, flagged_by = null, "
        "flagged_by_name = null, flagged_at = null WHERE umkm_id = ? AND tahun = ? AND bulan = ? "
        "IF is_flagged = true",
        (umkm_id, tahun, bulan),
    )
    return bool(rows[0]["[applied]"]), rows[0].get("is_flagged")


# ---------------------------------------------------------------- flagged index


async def index_flag(
    cass: Cassandra, tahun: int, at: datetime, umkm_id: uuid.UUID, bulan: int
) -> None:
    await cass.execute(
        "INSERT INTO flagged_logs (tahun, flagged_at, umkm_id, bulan) VALUES (?, ?, ?, ?)",
        (tahun, at, umkm_id, bulan),
    )


async def unindex_flag(
    cass: Cassandra, tahun: int, at: datetime, umkm_id: uuid.UUID, bulan: int
) -> None:
    await cass.execute(
        "DELETE FROM flagged_logs WHERE tahun = ? AND flagged_at = ? AND umkm_id = ? AND bulan = ?",
        (tahun, at, umkm_id, bulan),
    )


async def flagged_page(
    cass: Cassandra, tahun: int, limit: int, after: tuple[datetime, uuid.UUID, int] | None
) -> list[Row]:
    """Flag index entries of a year, newest first, strictly after the keyset `after`."""
    if after is None:
        return await cass.execute(
            "SELECT tahun, flagged_at, umkm_id, bulan FROM flagged_logs WHERE tahun = ? LIMIT ?",
            (tahun, limit),
        )
    return await cass.execute(
        "SELECT tahun, flagged_at, umkm_id, bulan FROM flagged_logs WHERE tahun = ? "
        "AND (flagged_at, umkm_id, bulan) < (?, ?, ?) LIMIT ?",
        (tahun, *after, limit),
    )


# ---------------------------------------------------------------- flagged count per year

FLAGGED_ADD = "UPDATE flagged_counts SET n = n + ? WHERE tahun = ?"


async def add_flagged(cass: Cassandra, tahun: int, delta: int) -> None:
    """Moves a year's flagged count; called once per flip of a row's is_flagged (the LWT that
    applied decides), never for a retry that found the row as wanted."""
    await cass.execute(FLAGGED_ADD, (delta, tahun))


async def flagged_count(cass: Cassandra, tahun: int) -> int:
    """The year's flagged count: one row of one partition, whatever the number of flags."""
    rows = await cass.execute("SELECT n FROM flagged_counts WHERE tahun = ?", (tahun,))
    return int(rows[0]["n"] or 0) if rows else 0


async def flagged_counts(cass: Cassandra) -> dict[int, int]:
    """Every year's flagged count (one row per year: a small table), for the rebuild."""
    rows = await cass.execute("SELECT tahun, n FROM flagged_counts")
    return {r["tahun"]: int(r["n"] or 0) for r in rows}


async def count_flagged_rows(cass: Cassandra, tahun: int) -> int:
    """The exact number of flagged months of a year, counted from the source: the year's
    flagged_logs entries confirmed against their log rows (an entry can outlive its flag after
    a crash, never the other way round: flag writes the entry before the LWT). Costs the
    year's flags (one partition, then the flagged UMKMs' year partitions, 100 per statement):
    the crash repair's recount (db/maintenance/intent_repair.py), never a request's."""
    entries = await cass.execute(
        "SELECT umkm_id, bulan FROM flagged_logs WHERE tahun = ?", (tahun,)
    )
    wanted = {(r["umkm_id"], r["bulan"]) for r in entries}
    if not wanted:
        return 0
    found = await logs_in(cass, sorted({u for u, _ in wanted}), [tahun])
    return sum(
        1
        for rows in found.values()
        for r in rows
        if r["is_flagged"] and (r["umkm_id"], r["bulan"]) in wanted
    )
