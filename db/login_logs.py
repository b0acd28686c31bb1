"""Login attempts: of known accounts (`login_logs`) and of unknown e-mails
(`unknown_login_attempts`).

`login_logs` has one partition per account and UTC month (`month` = yyyymm), newest first, so no
partition grows without bound. Rows live RETENTION_S (400 days, also the tables' default TTL):
an account's history spans at most 15 calendar months. `newest` walks the months backwards from
the current one, reading a growing number of months at once (1, 2, 4, then the rest), and never
looks before the account's creation month or the retention horizon: at most four sequential
rounds and one query per month, however sparse the history.

Attempts naming an e-mail without an account have no user_id to file them under; they go to
`unknown_login_attempts`, one partition per client address and month, for an ADMIN who
investigates guessing attacks (cqlsh / `unknown_attempts`). They are not exposed in the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cassandra.util import datetime_from_uuid1, uuid_from_time

from db.drivers.cassandra import Cassandra

DEVICE_INFO_MAX = 300
EMAIL_MAX = 320
RETENTION_S = 400 * 24 * 3600  # keep in step with default_time_to_live in 010_auth.cql
# Months read at once in each successive round of `newest` (the last round reads the rest).
ROUND_SIZES = (1, 2, 4)


@dataclass(frozen=True)
class LoginLog:
    at: datetime
    success: bool
    ip_address: str | None
    device_info: str | None


@dataclass(frozen=True)
class UnknownAttempt:
    at: datetime
    email: str
    device_info: str | None


def month_of(moment: datetime) -> int:
    """The UTC month bucket (yyyymm) of a moment."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return utc.year * 100 + utc.month


def previous_month(month: int) -> int:
    year, m = divmod(month, 100)
    return month - 1 if m > 1 else (year - 1) * 100 + 12


def months_back(newest: int, oldest: int) -> list[int]:
    """Month buckets from `newest` down to `oldest`, both included."""
    months: list[int] = []
    month = newest
    while month >= oldest:
        months.append(month)
        month = previous_month(month)
    return months


def _stamp(moment: datetime | None) -> tuple[uuid.UUID, int]:
    """A fresh timeuuid for the moment (now by default) and its month, from one clock read, so
    a row always sits in the month its time says."""
    at = moment or datetime.now(UTC)
    return uuid_from_time(at.timestamp()), month_of(at)


def _clip(text: str | None, size: int) -> str | None:
    return (text or "")[:size] or None


def _at(timeuuid: uuid.UUID) -> datetime:
    at: datetime = datetime_from_uuid1(timeuuid)
    return at.replace(tzinfo=UTC)


async def record(
    cassandra: Cassandra,
    user_id: uuid.UUID,
    *,
    success: bool,
    ip_address: str | None,
    device_info: str | None,
    at: datetime | None = None,
) -> None:
    """One attempt of a known account (`at`: now unless given, for imports and tests)."""
    login_time, month = _stamp(at)
    await cassandra.execute(
        "INSERT INTO login_logs (user_id, month, login_time, success, ip_address, device_info) "
        "VALUES (?, ?, ?, ?, ?, ?) USING TTL ?",
        (
            user_id,
            month,
            login_time,
            success,
            ip_address,
            _clip(device_info, DEVICE_INFO_MAX),
            RETENTION_S,
        ),
    )


async def newest(
    cassandra: Cassandra, user_id: uuid.UUID, limit: int, since: datetime | None = None
) -> list[LoginLog]:
    """The `limit` newest attempts, newest first, from months no older than `since` (the
    account's creation; None: the retention horizon)."""
    now = datetime.now(UTC)
    horizon = now - timedelta(seconds=RETENTION_S)
    oldest = month_of(max(since, horizon) if since is not None else horizon)
    months = months_back(month_of(now), oldest)
    cql = (
        "SELECT login_time, success, ip_address, device_info FROM login_logs "
        "WHERE user_id = ? AND month = ? LIMIT ?"
    )
    found: list[LoginLog] = []
    sizes = [*ROUND_SIZES, len(months)]
    start = 0
    for size in sizes:
        batch = months[start : start + size]
        start += len(batch)
        if not batch:
            break
        wanted = limit - len(found)
        # One round: the months of the batch concurrently, each read up to what is still missing.
        pages = await cassandra.execute_concurrent(cql, [(user_id, m, wanted) for m in batch])
        for rows in pages:  # newer month first, each newest first
            found.extend(
                LoginLog(
                    at=_at(r["login_time"]),
                    success=bool(r["success"]),
                    ip_address=r["ip_address"],
                    device_info=r["device_info"],
                )
                for r in rows
            )
        if len(found) >= limit:
            break
    return found[:limit]


async def record_unknown(
    cassandra: Cassandra,
    *,
    email: str,
    ip_address: str,
    device_info: str | None,
) -> None:
    """One attempt naming an e-mail that has no account, filed under the client address."""
    attempt, month = _stamp(None)
    await cassandra.execute(
        "INSERT INTO unknown_login_attempts (ip_address, month, attempt, email, device_info) "
        "VALUES (?, ?, ?, ?, ?) USING TTL ?",
        (
            ip_address,
            month,
            attempt,
            _clip(email, EMAIL_MAX) or "",
            _clip(device_info, DEVICE_INFO_MAX),
            RETENTION_S,
        ),
    )


async def unknown_attempts(
    cassandra: Cassandra, ip_address: str, month: int, limit: int
) -> list[UnknownAttempt]:
    """Attempts on unknown e-mails from one address in one month, newest first (admin tools)."""
    rows = await cassandra.execute(
        "SELECT attempt, email, device_info FROM unknown_login_attempts "
        "WHERE ip_address = ? AND month = ? LIMIT ?",
        (ip_address, month, limit),
    )
    return [
        UnknownAttempt(at=_at(r["attempt"]), email=r["email"], device_info=r["device_info"])
        for r in rows
    ]
