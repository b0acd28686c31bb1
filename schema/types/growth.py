"""Per-UMKM growth and forecast types (UMKM.growth, UMKM.forecast).

They sit below schema/types/umkm.py, which builds them, rather than with the dashboards in
schema/types/analytics.py, which is above umkm.py.
"""

from __future__ import annotations

import strawberry

from schema.types.enums import HealthStatus
from schema.types.scalars import Rupiah


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
