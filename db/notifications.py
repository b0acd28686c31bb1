"""Repository of owner notifications (Cassandra `flag_notifications`).

`create` is the one way to make a notification: it stores the row and publishes it to the owner's
topic so open `notificationAdded` subscriptions receive it.
"""

from __future__ import annotations

import uuid
from typing import Any

from cassandra.util import uuid_from_time

from db.drivers.handles import Databases
from sigma_graphql.core.clock import now_utc
from sigma_graphql.core.pubsub import PubSub

INSERT = (
    "INSERT INTO flag_notifications (owner_id, notification_id, type, title, message, umkm_id, "
    "tahun, bulan, flag_reason, flagged_by_name, is_read) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)"
)


def topic(owner_id: uuid.UUID) -> str:
    return f"notifications:{owner_id}"


async def create(
    dbs: Databases,
    pubsub: PubSub,
    *,
    owner_id: uuid.UUID,
    type: str,
    title: str,
    message: str,
    umkm_id: uuid.UUID | None,
    tahun: int | None = None,
    bulan: int | None = None,
    flag_reason: str | None = None,
    flagged_by_name: str | None = None,
    notification_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Stores one notification and publishes it. Pass notification_id to make retries idempotent."""
    nid = notification_id or uuid_from_time(now_utc())
    row: dict[str, Any] = {
        "owner_id": owner_id,
        "notification_id": nid,
        "type": type,
        "title": title,
        "message": message,
        "umkm_id": umkm_id,
        "tahun": tahun,
        "bulan": bulan,
        "flag_reason": flag_reason,
        "flagged_by_name": flagged_by_name,
        "is_read": False,
    }
    await dbs.cassandra.execute(
        INSERT,
        (owner_id, nid, type, title, message, umkm_id, tahun, bulan, flag_reason, flagged_by_name),
    )
    pubsub.publish(topic(owner_id), row)
    return row
