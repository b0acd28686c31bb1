"""Calendar helpers in Indonesia's reference time zone (reporting periods are WIB months)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def reporting_today() -> date:
    return datetime.now(WIB).date()


def current_month() -> tuple[int, int]:
    today = reporting_today()
    return today.year, today.month


def now_ms() -> datetime:
    """Now, truncated to MongoDB's millisecond precision (what is returned equals what is read)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)
