"""Repository of the verification queue (Cassandra, db/cql/020_umkm.cql).

A task is created for every PENDING submission and keyed by a timeuuid (task_id == created_at).
It lives in `verification_tasks` under (status, 'YYYY-MM' of creation); a decision moves it to
the partition of its new status (same bucket and clustering key). `verification_task_by_id`
says where a task is, and its lightweight transaction lets a task be decided once.

Every move between statuses (a decision; a withdrawal when its PENDING UMKM is soft-deleted; a
reinstatement when it is restored) has one write order: by_id (LWT on the old status) -> new
status row + month index -> delete old row. A crash in between leaves at worst a duplicate listing
(never a lost task), and re-running the same move finishes it (every step is idempotent; a move
whose LWT already applied is recognised by by_id holding the new status).

WITHDRAWN is internal (not a VerificationStatus of the API): the task of a PENDING UMKM that was
soft-deleted. It leaves the PENDING partitions so staff never see a deleted UMKM in the queue,
and comes back (same id, same place in the queue) when the UMKM is restored.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cassandra.util import datetime_from_uuid1, uuid_from_time

from db.drivers.cassandra import Cassandra, Row
from sigma_graphql.core.event_codec import message_type

# No task predates the service; listing never looks at months before this year.
FIRST_YEAR = 2024
# Month partitions read concurrently while walking back through the queue.
MONTHS_AT_ONCE = 4

COLUMNS = (
    "task_id, umkm_id, status, bucket, created_at, nama_usaha, owner_email, decided_by, "
    "decided_at, reason"
)
INSERT_BY_ID = (
    f"INSERT INTO verification_task_by_id ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TASK = f"INSERT INTO verification_tasks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_MONTH = "INSERT INTO verification_task_months (status, year, bucket) VALUES (?, ?, ?)"
INSERT_BY_UMKM = (
    "INSERT INTO verification_task_by_umkm (umkm_id, created_at, task_id) VALUES (?, ?, ?)"
)
SELECT_BY_ID = f"SELECT {COLUMNS} FROM verification_task_by_id WHERE task_id = ?"
MOVE = (
    "UPDATE verification_task_by_id SET status = ?, decided_by = ?, decided_at = ?, reason = ? "
    "WHERE task_id = ? IF status = ?"
)
PENDING = "PENDING"
WITHDRAWN = "WITHDRAWN"
DELETE_TASK = (
    "DELETE FROM verification_tasks WHERE status = ? AND bucket = ? AND created_at = ? "
    "AND task_id = ?"
)
RENAME_BY_ID = "UPDATE verification_task_by_id SET nama_usaha = ? WHERE task_id = ?"
RENAME_TASK = (
    "UPDATE verification_tasks SET nama_usaha = ? WHERE status = ? AND bucket = ? "
    "AND created_at = ? AND task_id = ? IF EXISTS"  # never resurrect a moved task as a stub
)
SELECT_MONTHS = "SELECT bucket FROM verification_task_months WHERE status = ? AND year = ?"
SELECT_PAGE = f"SELECT {COLUMNS} FROM verification_tasks WHERE status = ? AND bucket = ? LIMIT ?"
SELECT_PAGE_AFTER = (
    f"SELECT {COLUMNS} FROM verification_tasks WHERE status = ? AND bucket = ? "
    "AND created_at < ? LIMIT ?"
)


@message_type  # published to verificationTaskAdded subscribers of every process
@dataclass(frozen=True)
class TaskRow:
    task_id: uuid.UUID
    umkm_id: uuid.UUID
    status: str
    bucket: str
    created_at: datetime
    nama_usaha: str
    owner_email: str | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    reason: str | None

    def params(self) -> tuple[Any, ...]:
        return (
            self.task_id,
            self.umkm_id,
            self.status,
            self.bucket,
            self.task_id,  # created_at: the same timeuuid
            self.nama_usaha,
            self.owner_email,
            self.decided_by,
            self.decided_at,
            self.reason,
        )


def _aware(value: datetime | None) -> datetime | None:
    # The driver returns naive UTC datetimes.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def from_row(row: Row) -> TaskRow:
    return TaskRow(
        task_id=row["task_id"],
        umkm_id=row["umkm_id"],
        status=row["status"],
        bucket=row["bucket"],
        created_at=datetime_from_uuid1(row["created_at"]).replace(tzinfo=UTC),
        nama_usaha=row["nama_usaha"] or "",
        owner_email=row.get("owner_email"),
        decided_by=row.get("decided_by"),
        decided_at=_aware(row.get("decided_at")),
        reason=row.get("reason"),
    )


def bucket_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def new_task_id(now: datetime) -> uuid.UUID:
    task_id: uuid.UUID = uuid_from_time(now)
    return task_id


async def create(
    cass: Cassandra,
    *,
    task_id: uuid.UUID,
    umkm_id: uuid.UUID,
    nama_usaha: str,
    owner_email: str | None,
) -> TaskRow:
    """Stores a PENDING task; idempotent for a given task_id (every write is an upsert)."""
    created = datetime_from_uuid1(task_id).replace(tzinfo=UTC)
    row = TaskRow(
        task_id=task_id,
        umkm_id=umkm_id,
        status="PENDING",
        bucket=bucket_of(created),
        created_at=created,
        nama_usaha=nama_usaha,
        owner_email=owner_email,
        decided_by=None,
        decided_at=None,
        reason=None,
    )
    await asyncio.gather(
        cass.execute(INSERT_BY_ID, row.params()),
        cass.execute(INSERT_TASK, row.params()),
        cass.execute(INSERT_MONTH, ("PENDING", created.year, row.bucket)),
        cass.execute(INSERT_BY_UMKM, (umkm_id, task_id, task_id)),
    )
    return row


async def find(cass: Cassandra, task_id: uuid.UUID) -> TaskRow | None:
    rows = await cass.execute(SELECT_BY_ID, (task_id,))
    return from_row(rows[0]) if rows else None


async def decide(
    cass: Cassandra,
    task_id: uuid.UUID,
    *,
    status: str,
    decided_by: uuid.UUID,
    decided_at: datetime,
    reason: str | None,
) -> TaskRow | None:
    """Moves a PENDING task to `status` once. Returns the decided task, or None when the task
    is missing or was decided differently before (the caller's Mongo compare-and-set is the
    authority; this keeps the queue consistent with it)."""
    return await _move(
        cass,
        task_id,
        PENDING,
        status,
        lambda row: replace(
            row, status=status, decided_by=decided_by, decided_at=decided_at, reason=reason
        ),
    )


async def withdraw(cass: Cassandra, task_id: uuid.UUID) -> TaskRow | None:
    """Takes the PENDING task of a soft-deleted UMKM out of the queue (idempotent)."""
    return await _move(
        cass, task_id, PENDING, WITHDRAWN, lambda row: replace(row, status=WITHDRAWN)
    )


async def reinstate(cass: Cassandra, task_id: uuid.UUID) -> TaskRow | None:
    """Puts a withdrawn task back into the PENDING queue when its UMKM is restored (idempotent).
    Returns the PENDING task, or None when it is missing or not withdrawn."""
    return await _move(cass, task_id, WITHDRAWN, PENDING, lambda row: replace(row, status=PENDING))


async def align(cass: Cassandra, doc: dict[str, Any]) -> TaskRow | None:
    """Puts the task of a PENDING UMKM document where the document says it belongs: WITHDRAWN
    while soft-deleted, PENDING otherwise. Returns the task when it was (re)placed in the PENDING
    queue. Safe to repeat; used after delete/restore and by `repair-verification`."""
    task_id = doc.get("verification_task_id")
    if task_id is None or (doc.get("legalitas") or {}).get("status_verifikasi") != PENDING:
        return None
    if doc.get("is_deleted"):
        await withdraw(cass, task_id)
        return None
    return await reinstate(cass, task_id)


async def _move(
    cass: Cassandra,
    task_id: uuid.UUID,
    old: str,
    new: str,
    change: Callable[[TaskRow], TaskRow],
) -> TaskRow | None:
    """by_id (LWT on `old`) -> `new` row + month index -> delete the `old` row. When by_id
    holds `new` already (a retry, or repair after a crash), only the last two steps run."""
    current = await find(cass, task_id)
    if current is None:
        return None
    if current.status == old:
        moved = change(current)
        params = (new, moved.decided_by, moved.decided_at, moved.reason, task_id, old)
        applied = await cass.execute(MOVE, params)
        if not applied or not applied[0].get("[applied]"):
            # Moved concurrently: finish only if it went where this call wanted it.
            again = await find(cass, task_id)
            if again is None or again.status != new:
                return None
            moved = again
    elif current.status == new:
        moved = current
    else:
        return None  # elsewhere (decided differently, withdrawn...): not this move to finish
    await asyncio.gather(
        cass.execute(INSERT_TASK, moved.params()),
        cass.execute(INSERT_MONTH, (new, moved.created_at.year, moved.bucket)),
    )
    await cass.execute(DELETE_TASK, (old, moved.bucket, task_id, task_id))
    return moved


async def rename(cass: Cassandra, task_id: uuid.UUID, nama_usaha: str) -> None:
    """Keeps a PENDING task's denormalised name in step with its UMKM."""
    current = await find(cass, task_id)
    if current is None or current.status != "PENDING":
        return
    await asyncio.gather(
        cass.execute(RENAME_BY_ID, (nama_usaha, task_id)),
        cass.execute(RENAME_TASK, (nama_usaha, "PENDING", current.bucket, task_id, task_id)),
    )


async def months_with_tasks(cass: Cassandra, status: str, until: str) -> list[str]:
    """Buckets ('YYYY-MM') holding tasks of status, newest first, not after `until`."""
    last_year = int(until[:4])
    years = list(range(last_year, FIRST_YEAR - 1, -1))
    results = await cass.execute_concurrent(SELECT_MONTHS, [(status, y) for y in years])
    buckets = [r["bucket"] for rows in results for r in rows if r["bucket"] <= until]
    return sorted(buckets, reverse=True)


async def page(
    cass: Cassandra,
    status: str,
    limit: int,
    *,
    start_bucket: str,
    after: uuid.UUID | None,
) -> list[TaskRow]:
    """Up to `limit` tasks of status, newest first, starting in start_bucket strictly after
    the task `after` (None: from the bucket's newest), then in older months.

    Months whose tasks have all been decided stay in the month index; reading a few months at
    once keeps such empty months from costing one sequential round trip each."""
    buckets = await months_with_tasks(cass, status, start_bucket)
    rows: list[TaskRow] = []

    async def read(bucket: str, need: int) -> list[Row]:
        if bucket == start_bucket and after is not None:
            return await cass.execute(SELECT_PAGE_AFTER, (status, bucket, after, need))
        return await cass.execute(SELECT_PAGE, (status, bucket, need))

    for start in range(0, len(buckets), MONTHS_AT_ONCE):
        need = limit - len(rows)
        if need <= 0:
            break
        chunk = buckets[start : start + MONTHS_AT_ONCE]
        # Buckets are newest first and each answer is newest first: concatenation keeps order.
        for found in await asyncio.gather(*(read(b, need) for b in chunk)):
            rows.extend(from_row(r) for r in found)
    return rows[:limit]
