"""Analytics: aggregates, trends, rankings, anomalies and the three dashboards (per-UMKM growth
and forecast: schema/types/growth.py)."""

from __future__ import annotations

import asyncio
import uuid
from operator import attrgetter

import strawberry

from db import analytics as repo
from schema.types.financial import FinancialLog
from schema.types.pagination import (
    check_first,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    page_info,
)
from schema.types.scalars import Rupiah
from schema.types.umkm import UMKM, UMKMConnection, UMKMEdge, umkm_from_doc
from sigma_graphql.analytics import periods
from sigma_graphql.core.clock import current_month
from sigma_graphql.request.context import Info

NOT_REPORTING_MONTHS = 3


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
class GrowthRanking:
    umkm: UMKM
    periode: str
    growth_rate: float


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
        return await not_reporting(info, first, after)

    total_omzet_last_month: Rupiah


@strawberry.type
class PublicStats:
    verified_umkm: int
    sectors: int
    cities: int
    total_omzet_last_year: Rupiah


def _cursor_id(after: str | None) -> uuid.UUID | None:
    cursor = decode_cursor(after)
    return None if cursor is None else cursor_uuid(cursor, "id")


async def not_reporting(info: Info, first: int | None, after: str | None) -> UMKMConnection:
    """VERIFIED, live UMKMs without a log in the last 3 complete months: their latest month on
    record (summary_terakhir, kept by every write) is older than the first of those months.
    An indexed query (status_summary), keyset-paged by _id."""
    ctx = info.context
    limit = check_first(first)
    since = periods.last_complete_months(*current_month(), NOT_REPORTING_MONTHS)
    query = repo.not_reporting_query(*since)
    after_id = _cursor_id(after)
    docs, total = await asyncio.gather(
        repo.page_umkms(ctx.mongo, query, after_id, limit),
        repo.count_umkms(ctx.mongo, query),
    )
    page = docs[:limit]
    edges = [
        UMKMEdge(cursor=encode_cursor({"id": str(d["_id"])}), node=umkm_from_doc(d, ctx.viewer))
        for d in page
    ]
    return UMKMConnection(
        edges=edges,
        nodes=[e.node for e in edges],
        page_info=page_info(
            edges,
            attrgetter("cursor"),
            has_next=len(docs) > limit,
            has_previous=after_id is not None,
        ),
        total_count=total,
    )
