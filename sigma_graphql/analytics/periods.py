"""Calendar arithmetic on (tahun, bulan) months and quarters.

A month index is tahun * 12 + (bulan - 1): consecutive calendar months differ by one, so gaps
and year boundaries need no special cases.
"""

from __future__ import annotations


def month_index(tahun: int, bulan: int) -> int:
    return tahun * 12 + (bulan - 1)


def from_index(index: int) -> tuple[int, int]:
    return index // 12, index % 12 + 1


def add_months(tahun: int, bulan: int, months: int) -> tuple[int, int]:
    return from_index(month_index(tahun, bulan) + months)


def quarter_of(bulan: int) -> int:
    return (bulan - 1) // 3 + 1


def quarter_index(tahun: int, quarter: int) -> int:
    return tahun * 4 + (quarter - 1)


def quarter_from_index(index: int) -> tuple[int, int]:
    return index // 4, index % 4 + 1


def previous_quarter(tahun: int, quarter: int) -> tuple[int, int]:
    return quarter_from_index(quarter_index(tahun, quarter) - 1)


def periode(tahun: int, quarter: int) -> str:
    """The contract's quarter label, e.g. "2024-Q2"."""
    return f"{tahun}-Q{quarter}"


def latest_complete_quarter(today_tahun: int, today_bulan: int) -> tuple[int, int]:
    """The last quarter that has fully ended before the current month."""
    return previous_quarter(today_tahun, quarter_of(today_bulan))


def last_complete_months(today_tahun: int, today_bulan: int, count: int) -> tuple[int, int]:
    """The first (oldest) of the `count` complete months before the current month."""
    return add_months(today_tahun, today_bulan, -count)


def rolling_year(today_tahun: int, today_bulan: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(oldest, newest) of the 12 complete months before the current month."""
    return (
        last_complete_months(today_tahun, today_bulan, 12),
        add_months(today_tahun, today_bulan, -1),
    )
