"""Analytics: aggregates, trends, growth, forecasts, anomalies and the three dashboards."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.types.enums import HealthStatus
from schema.types.financial import FinancialLog
from schema.types.scalars import Rupiah
from schema.types.umkm import UMKM, UMKMConnection


@strawberry.type(
    description="Aggregates count only VERIFIED, not deleted UMKMs, and are exact after any "
    "sequence of writes."
)
class MonthlyStat:
    tahun: int
    bulan: int
    total_omzet: Rupiah
    jumlah_umkm: int


@strawberry.type
class SectorStats:
    sektor: str
    total_omzet: Rupiah
    months: list[MonthlyStat]


@strawberry.type
class RegionStats:
    kota: str
    total_omzet: Rupiah
    months: list[MonthlyStat]


@strawberry.type
class NamedTotal:
    name: str
    total_omzet: Rupiah


@strawberry.type
class RevenueTrend:
    total_omzet: Rupiah
    by_month: list[MonthlyStat] = strawberry.field(description="Months oldest first.")
    by_sector: list[NamedTotal]
    by_kota: list[NamedTotal]


@strawberry.type
class GrowthAnalysis:
    periode: str = strawberry.field(description='e.g. "2024-Q2".')
    total_omzet: Rupiah
    growth_rate: float | None = strawberry.field(
        description="Percent change of this quarter's total omzet against the previous quarter's, "
        "one decimal; null when the previous quarter has no data."
    )
    status_kesehatan: HealthStatus | None
    rekomendasi: str | None = strawberry.field(
        description="Recommendation text in Bahasa Indonesia, derived from the status."
    )


@strawberry.type
class GrowthRanking:
    umkm: UMKM
    periode: str
    growth_rate: float


@strawberry.type
class ForecastPoint:
    tahun: int
    bulan: int
    predicted_omzet: Rupiah
    lower: Rupiah
    upper: Rupiah


@strawberry.type
class Forecast:
    method: str
    points: list[ForecastPoint]


@strawberry.type
class Anomaly:
    log: FinancialLog
    score: float
    reason: str


@strawberry.type
class OwnerDashboard:
    total_umkm: int
    pending_verifications: int
    flagged_this_year: int = strawberry.field(
        description="Flagged months of the current year across own UMKMs."
    )
    unread_notifications: int
    recent_logs: list[FinancialLog] = strawberry.field(
        description="The 10 most recently entered logs across own UMKMs."
    )


@strawberry.type
class OfficialDashboard:
    total_umkm: int
    verified_umkm: int
    pending_verifications: int
    flagged_this_year: int

    # first/after are additions to the contract (optional): without them the list could not
    # be paged past its first page.
    @strawberry.field(description="VERIFIED UMKMs with no log in the last 3 complete months.")
    async def not_reporting(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> UMKMConnection:
        from resolvers.analytics import not_reporting

        return await not_reporting(info, first, after)

    total_omzet_last_month: Rupiah


@strawberry.type
class PublicStats:
    verified_umkm: int
    sectors: int
    cities: int
    total_omzet_last_year: Rupiah
