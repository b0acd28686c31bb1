"""Quarterly growth and the health label of the contract's HealthStatus.

Thresholds (contract): growth >= 20% SANGAT_SEHAT; 0..20 STABIL; -10..0 NORMALISASI;
-20..-10 WASPADA; < -20 KRITIS. A boundary value belongs to the better label (0.0 is STABIL,
-10.0 NORMALISASI, -20.0 WASPADA). The label is decided on the rounded rate the client sees, so
label and number never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sigma_graphql.analytics.periods import (
    periode,
    quarter_from_index,
    quarter_index,
    quarter_of,
)

SANGAT_SEHAT = "SANGAT_SEHAT"
STABIL = "STABIL"
NORMALISASI = "NORMALISASI"
WASPADA = "WASPADA"
KRITIS = "KRITIS"

REKOMENDASI: dict[str, str] = {
    SANGAT_SEHAT: (
        "Pertumbuhan sangat baik: pertimbangkan menambah kapasitas produksi, memperluas pasar, "
        "dan mengakses pembiayaan untuk ekspansi."
    ),
    STABIL: (
        "Usaha tumbuh stabil: pertahankan kualitas, jaga arus kas, dan cari peluang pasar baru "
        "secara bertahap."
    ),
    NORMALISASI: (
        "Omzet sedikit menurun: evaluasi biaya operasional dan perkuat promosi untuk menjaga "
        "pelanggan."
    ),
    WASPADA: (
        "Omzet turun cukup tajam: tinjau ulang harga, stok, dan saluran penjualan, serta "
        "konsultasikan dengan pendamping UMKM."
    ),
    KRITIS: (
        "Omzet turun drastis: segera lakukan efisiensi biaya, cari sumber pendapatan baru, dan "
        "hubungi dinas terkait untuk program pendampingan atau restrukturisasi."
    ),
}


def health_status(growth_rate: float) -> str:
    if growth_rate >= 20:
        return SANGAT_SEHAT
    if growth_rate >= 0:
        return STABIL
    if growth_rate >= -10:
        return NORMALISASI
    if growth_rate >= -20:
        return WASPADA
    return KRITIS


def growth_rate(current: int, previous: int) -> float | None:
    """Percent change, one decimal; None without a positive previous value to compare with."""
    if previous <= 0:
        return None
    # Exact decimal arithmetic: float division would round -98.85 either way depending on its
    # binary representation; half-way values round away from zero, as in published statistics.
    exact = Decimal(current - previous) * 100 / Decimal(previous)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class QuarterGrowth:
    tahun: int
    quarter: int
    total_omzet: int
    growth_rate: float | None
    status: str | None
    rekomendasi: str | None

    @property
    def periode(self) -> str:
        return periode(self.tahun, self.quarter)


def quarterly_totals(months: Iterable[tuple[int, int, int]]) -> dict[int, int]:
    """{quarter index: total omzet} from (tahun, bulan, omzet) rows (one row per month)."""
    totals: dict[int, int] = {}
    for tahun, bulan, omzet in months:
        key = quarter_index(tahun, quarter_of(bulan))
        totals[key] = totals.get(key, 0) + omzet
    return totals


def quarterly_growth(
    months: Iterable[tuple[int, int, int]], tahun: int | None = None
) -> list[QuarterGrowth]:
    """Quarters with data, oldest first, each against the previous calendar quarter.

    Growth compares calendar quarters (Q1 against the previous year's Q4), never adjacent rows:
    a quarter after a gap has no growth rate.
    """
    totals = quarterly_totals(months)
    result: list[QuarterGrowth] = []
    for key in sorted(totals):
        year, quarter = quarter_from_index(key)
        if tahun is not None and year != tahun:
            continue
        previous = totals.get(key - 1)
        rate = growth_rate(totals[key], previous) if previous is not None else None
        status = health_status(rate) if rate is not None else None
        result.append(
            QuarterGrowth(
                tahun=year,
                quarter=quarter,
                total_omzet=totals[key],
                growth_rate=rate,
                status=status,
                rekomendasi=REKOMENDASI[status] if status else None,
            )
        )
    return result
