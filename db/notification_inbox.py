"""Reading and marking an owner's notifications (Cassandra `flag_notifications`).

Creation lives in db/notifications.py (it also publishes). One partition per owner, newest
first; ids are the row's timeuuid, so they are stable, sortable and double as keyset cursors.
"""

from __future__ import annotations

import asyncio
import uuid

from db.drivers.cassandra import Cassandra, Row

COLUMNS = (
    "owner_id, notification_id, type, title, message, umkm_id, tahun, bulan, flag_reason, "
    "flagged_by_name, is_read"
)


async def page(
    cass: Cassandra, owner_id: uuid.UUID, limit: int, before: uuid.UUID | None, unread_only: bool
) -> list[Row]:
    """Newest first, strictly older than `before`. Filtering stays inside one partition."""
    cql = f"SELECT {COLUMNS} FROM flag_notifications WHERE owner_id = ?"
    params: list[object] = [owner_id]
    if before is not None:
        cql += " AND notification_id < ?"
        params.append(before)
    if unread_only:
        cql += " AND is_read = false"
    cql += " LIMIT ?"
    params.append(limit)
    if unread_only:
        cql += " ALLOW FILTERING"
    return await cass.execute(cql, params)


async def newer_than(
    cass: Cassandra, owner_id: uuid.UUID, after: uuid.UUID, limit: int
) -> list[Row]:
    """Oldest first, strictly newer than `after` (notificationAdded's catch-up), at most limit."""
    return await cass.execute(
        f"SELECT {COLUMNS} FROM flag_notifications WHERE owner_id = ? AND notification_id > ? "
        "ORDER BY notification_id ASC LIMIT ?",
        (owner_id, after, limit),
    )


async def get(cass: Cassandra, owner_id: uuid.UUID, notification_id: uuid.UUID) -> Row | None:
    rows = await cass.execute(
        f"SELECT {COLUMNS} FROM flag_notifications WHERE owner_id = ? AND notification_id = ?",
        (owner_id, notification_id),
    )
    return rows[0] if rows else None


async def unread_ids(cass: Cassandra, owner_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await cass.execute(
        "SELECT notification_id FROM flag_notifications WHERE owner_id = ? AND is_read = false "
        "ALLOW FILTERING",
        (owner_id,),
    )
    return [r["notification_id"] for r in rows]


async def unread_count(cass: Cassandra, owner_id: uuid.UUID) -> int:
    rows = await cass.execute(
        "SELECT COUNT(*) AS n FROM flag_notifications WHERE owner_id = ? AND is_read = false "
        "ALLOW FILTERING",
        (owner_id,),
    )
    return int(rows[0]["n"]) if rows else 0


async def mark_read(cass: Cassandra, owner_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
    """IF EXISTS: an unknown id (or someone else's: other partition) creates no row."""
    rows = await cass.execute(
        "UPDATE flag_notifications SET is_read = true WHERE owner_id = ? AND notification_id = ? "
        "IF EXISTS",
        (owner_id, notification_id),
    )
    return bool(rows[0]["[applied]"])


async def mark_all_read(cass: Cassandra, owner_id: uuid.UUID) -> int:
    """Returns how many were unread. Ids come from the partition, so the rows exist."""
    ids = await unread_ids(cass, owner_id)
    gate = asyncio.Semaphore(64)

    async def one(nid: uuid.UUID) -> None:
        async with gate:
            await cass.execute(
                "UPDATE flag_notifications SET is_read = true "
                "WHERE owner_id = ? AND notification_id = ?",
                (owner_id, nid),
            )

    await asyncio.gather(*(one(n) for n in ids))
    return len(ids)
