"""The reconciler's lease and scan watermark (Cassandra table `reconciler`, db/cql).

One API process at a time repairs open intents (sigma_graphql/server/reconciler.py): the lease row
names its holder and is written by lightweight transactions with a TTL, so taking it is decided
once among racing processes, renewing it proves it is still ours, and a holder that died loses it
when the TTL runs out. The watermark row says from which minute the intent table must be read:
minutes before it hold no open intent (it only moves forward).
"""

from __future__ import annotations

import uuid

from db.drivers.cassandra import Cassandra

LEASE = "lease"
WATERMARK = "watermark"


async def take(cass: Cassandra, holder: uuid.UUID, ttl_s: int, *, renew: bool) -> bool:
    """True when `holder` holds the lease for the next ttl_s seconds."""
    if renew:
        rows = await cass.execute(
            "UPDATE reconciler USING TTL ? SET holder = ? WHERE name = ? IF holder = ?",
            (ttl_s, holder, LEASE, holder),
        )
        if rows[0]["[applied]"]:
            return True
    rows = await cass.execute(
        "INSERT INTO reconciler (name, holder) VALUES (?, ?) IF NOT EXISTS USING TTL ?",
        (LEASE, holder, ttl_s),
    )
    return bool(rows[0]["[applied]"]) or rows[0].get("holder") == holder


async def release(cass: Cassandra, holder: uuid.UUID) -> None:
    await cass.execute("DELETE FROM reconciler WHERE name = ? IF holder = ?", (LEASE, holder))


async def holder(cass: Cassandra) -> uuid.UUID | None:
    rows = await cass.execute("SELECT holder FROM reconciler WHERE name = ?", (LEASE,))
    return rows[0]["holder"] if rows else None


async def watermark(cass: Cassandra) -> int:
    rows = await cass.execute("SELECT clean_before FROM reconciler WHERE name = ?", (WATERMARK,))
    return int(rows[0]["clean_before"] or 0) if rows else 0


async def move_watermark(cass: Cassandra, clean_before: int) -> None:
    """Called by the lease holder only, with a value that only grows: a plain write."""
    await cass.execute(
        "INSERT INTO reconciler (name, clean_before) VALUES (?, ?)", (WATERMARK, clean_before)
    )
