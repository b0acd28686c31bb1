"""Every login attempt of an account (Cassandra `login_logs`, newest first per account)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cassandra.util import datetime_from_uuid1

from db.cassandra import Cassandra

DEVICE_INFO_MAX = 300


@dataclass(frozen=True)
class LoginLog:
    at: datetime
    success: bool
    ip_address: str | None
    device_info: str | None


async def record(
    cassandra: Cassandra,
    user_id: uuid.UUID,
    *,
    success: bool,
    ip_address: str | None,
    device_info: str | None,
) -> None:
    await cassandra.execute(
        "INSERT INTO login_logs (user_id, login_time, success, ip_address, device_info) "
        "VALUES (?, now(), ?, ?, ?)",
        (user_id, success, ip_address, (device_info or "")[:DEVICE_INFO_MAX] or None),
    )


async def newest(cassandra: Cassandra, user_id: uuid.UUID, limit: int) -> list[LoginLog]:
    rows = await cassandra.execute(
        "SELECT login_time, success, ip_address, device_info FROM login_logs "
        "WHERE user_id = ? LIMIT ?",
        (user_id, limit),
    )
    return [
        LoginLog(
            at=datetime_from_uuid1(r["login_time"]).replace(tzinfo=UTC),
            success=bool(r["success"]),
            ip_address=r["ip_address"],
            device_info=r["device_info"],
        )
        for r in rows
    ]
