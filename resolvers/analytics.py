"""Analytics: stats, trends, growth, forecasts, anomalies, dashboards."""

from __future__ import annotations

import strawberry  # noqa: F401
from strawberry.types import Info

from resolvers._todo import todo
from schema.analytics import (
    Anomaly,
    Forecast,
    GrowthAnalysis,
    GrowthRanking,
    OfficialDashboard,
    OwnerDashboard,
    PublicStats,
    RegionStats,
    RevenueTrend,
    SectorStats,
)
from schema.umkm import UMKM


async def sector_stats(info: Info, tahun: int, sektor: str | None) -> list[SectorStats]:
    todo("sector_stats")


async def region_stats(info: Info, tahun: int, kota: str | None) -> list[RegionStats]:
    todo("region_stats")


async def revenue_trend(
    info: Info, tahun: int | None, sektor: str | None, kota: str | None
) -> RevenueTrend:
    todo("revenue_trend")


async def top_growers(
    info: Info, tahun: int, quarter: int | None, first: int | None
) -> list[GrowthRanking]:
    todo("top_growers")


async def suspicious_logs(
    info: Info, tahun: int, bulan: int | None, first: int | None
) -> list[Anomaly]:
    todo("suspicious_logs")


async def owner_dashboard(info: Info) -> OwnerDashboard:
    todo("owner_dashboard")


async def official_dashboard(info: Info) -> OfficialDashboard:
    todo("official_dashboard")


async def public_stats(info: Info) -> PublicStats:
    todo("public_stats")


async def umkm_growth(info: Info, umkm: UMKM, tahun: int | None) -> list[GrowthAnalysis]:
    todo("umkm_growth")


async def umkm_forecast(info: Info, umkm: UMKM, months: int | None) -> Forecast | None:
    todo("umkm_forecast")
