"""Calendar helpers in Indonesia's reference time zone (reporting periods are WIB months)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


def now_utc() -> datetime:
    return datetime.now(UTC)


def reporting_today() -> date:
    return datetime.now(WIB).date()


def current_month() -> tuple[int, int]:
    today = reporting_today()
    return today.year, today.month
