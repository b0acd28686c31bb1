"""Analytics: stats, trends, growth, forecasts, anomalies, dashboards.

Sources, by audience:
- PUBLIC and staff figures come from the aggregate tables (dashboard_sector_stats,
  dashboard_region_stats, dashboard_sector_region_stats, dashboard_keys, umkm_quarter_totals),
  which count only VERIFIED, not deleted UMKMs, and from the profile counts (umkm_counts).
  No request reads every UMKM's logs, except suspiciousFinancialLogs (see there).
- UMKM_OWNER figures come from the owner's own UMKMs' logs (any status except deleted), read
  with a bounded number of statements per owner.
- "All years" (revenueTrend without tahun) means FIRST_YEAR..the current year: the range a log
  can be submitted for; dashboard_keys tells which sectors and kotas have data in each.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from db import analytics as repo
from db import notification_inbox
from db.drivers.cassandra import Row
from db.reference import canonical_sector
from db.writes import umkm_counts
from loaders.analytics import dimension_rows, logs_by_umkm
from loaders.umkm import umkm_by_id
from schema.types.analytics import (
    Anomaly,
    GrowthRanking,
    MonthlyStat,
    NamedTotal,
    OfficialDashboard,
    OwnerDashboard,
    PublicStats,
    RegionStats,
    RevenueTrend,
    SectorStats,
)
from schema.types.financial import log_from_row
from schema.types.pagination import check_first
from schema.types.scalars import Rupiah
from schema.types.umkm import umkm_from_doc
from sigma_graphql.analytics import anomalies, growth, periods
from sigma_graphql.core import errors
from sigma_graphql.core.clock import current_month
from sigma_graphql.core.i18n import register, t
from sigma_graphql.request.context import Context, Info

FIRST_YEAR = 2000  # the contract's earliest reportable year
RECENT_LOGS = 10
# suspiciousFinancialLogs reads the logs of this many UMKMs per batch, batches one after another.
ANOMALY_BATCH = 1000

register(
    {
        "analytics_quarter": (
            "Kuartal harus antara 1 dan 4",
            "The quarter must be between 1 and 4",
        ),
        "analytics_bulan": ("Bulan harus antara 1 dan 12", "The month must be between 1 and 12"),
    }
)


# ---------------------------------------------------------------- builders


def _monthly(stats: dict[tuple[int, int], list[int]]) -> list[MonthlyStat]:
    """MonthlyStat per (tahun, bulan), oldest first; months without any reporting UMKM are
    left out."""
    return [
        MonthlyStat(tahun=y, bulan=m, total_omzet=Rupiah(v[0]), jumlah_umkm=v[1])
        for (y, m), v in sorted(stats.items())
        if v[1] > 0
    ]


def _named(totals: dict[str, int], present: Iterable[str]) -> list[NamedTotal]:
    """Largest total first (ties by name)."""
    names = sorted(set(present), key=lambda n: (-totals.get(n, 0), n))
    return [NamedTotal(name=n, total_omzet=Rupiah(totals.get(n, 0))) for n in names]


def _group(
    rows: Iterable[tuple[str, int, int, int, int]],
) -> dict[str, dict[tuple[int, int], list[int]]]:
    """{name: {(tahun, bulan): [total_omzet, jumlah_umkm]}} from aggregate rows.

    Counter rows and dashboard_keys entries outlive their UMKMs (only the rebuild removes keys):
    a cell counting no UMKM is left out, and so is a name with no such cell left, e.g. a sector
    whose every UMKM was deleted. A cell with no UMKM but a non-zero omzet only exists after a
    crash the rebuild has not repaired yet; it is left out too.
    """
    out: dict[str, dict[tuple[int, int], list[int]]] = defaultdict(dict)
    for name, tahun, bulan, omzet, count in rows:
        if count > 0:
            out[name][(tahun, bulan)] = [omzet, count]
    return out


def _sektor_name(raw: str) -> str:
    return canonical_sector(raw) or raw.strip()


# ---------------------------------------------------------------- sector / region stats


async def _dimension_rows(
    ctx: Context, dimension: str, years: list[int], only: str | None
) -> list[tuple[str, int, int, int, int]]:
    """Aggregate rows of one dimension ('sektor' or 'kota'): the named partition, or every
    partition dashboard_keys lists for the years; read once per request (loaders/analytics.py)."""
    return await ctx.loaders.get(dimension_rows).load((dimension, tuple(years), only))


async def sector_stats(info: Info, tahun: int, sektor: str | None) -> list[SectorStats]:
    ctx = info.context
    only = _sektor_name(sektor) if sektor is not None else None
    grouped = _group(await _dimension_rows(ctx, "sektor", [tahun], only))
    return [
        SectorStats(
            sektor=name,
            total_omzet=Rupiah(sum(v[0] for v in months.values())),
            months=_monthly(months),
        )
        for name, months in sorted(grouped.items())
    ]


async def region_stats(info: Info, tahun: int, kota: str | None) -> list[RegionStats]:
    ctx = info.context
    only = kota.strip() if kota is not None else None
    grouped = _group(await _dimension_rows(ctx, "kota", [tahun], only))
    return [
        RegionStats(
            kota=name,
            total_omzet=Rupiah(sum(v[0] for v in months.values())),
            months=_monthly(months),
        )
        for name, months in sorted(grouped.items())
    ]


# ---------------------------------------------------------------- revenue trend


def _trend(
    months: dict[tuple[int, int], list[int]],
    by_sector: dict[str, int],
    by_kota: dict[str, int],
) -> RevenueTrend:
    return RevenueTrend(
        total_omzet=Rupiah(sum(v[0] for v in months.values())),
        by_month=_monthly(months),
        by_sector=_named(by_sector, by_sector),
        by_kota=_named(by_kota, by_kota),
    )


def _sum_months(
    grouped: dict[str, dict[tuple[int, int], list[int]]],
) -> tuple[dict[tuple[int, int], list[int]], dict[str, int]]:
    """Totals per month across names (each UMKM is in one sektor and one kota, so counts add
    up exactly) and the total per name."""
    months: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    per_name: dict[str, int] = {}
    for name, stats in grouped.items():
        per_name[name] = sum(v[0] for v in stats.values())
        for key, (omzet, count) in stats.items():
            months[key][0] += omzet
            months[key][1] += count
    return dict(months), per_name


async def revenue_trend(
    info: Info, tahun: int | None, sektor: str | None, kota: str | None
) -> RevenueTrend:
    """Public/staff: from the aggregates, never from per-UMKM rows. Without filters: the sector
    and region tables. With a sektor and/or kota filter: dashboard_sector_region_stats, which
    holds both breakdowns (byKota under a sektor filter, bySector under a kota filter). Owners:
    their own logs, any filter."""
    ctx = info.context
    sektor_name = _sektor_name(sektor) if sektor is not None else None
    kota_name = kota.strip() if kota is not None else None
    if ctx.viewer.is_owner_role:
        return await _owner_trend(ctx, tahun, sektor_name, kota_name)
    years = [tahun] if tahun is not None else list(range(FIRST_YEAR, current_month()[0] + 1))
    if sektor_name is not None or kota_name is not None:
        return await _filtered_trend(ctx, years, sektor_name, kota_name)
    sector_rows, kota_rows = await asyncio.gather(
        _dimension_rows(ctx, "sektor", years, None), _dimension_rows(ctx, "kota", years, None)
    )
    months, sector_totals = _sum_months(_group(sector_rows))
    _, kota_totals = _sum_months(_group(kota_rows))
    return _trend(months, sector_totals, kota_totals)


async def _filtered_trend(
    ctx: Context, years: list[int], sektor: str | None, kota: str | None
) -> RevenueTrend:
    """A sektor filter reads its (sektor, tahun) partitions of the pair table (a kota filter
    too: one slice of each); a kota filter alone reads that kota's slice of every sector that
    dashboard_keys lists for the years. Either way the statements are bounded by sectors x
    years, never by UMKMs; each UMKM is in one (sektor, kota), so the counts add up exactly."""
    if sektor is not None:
        sectors = [sektor]
    else:
        names = await repo.dashboard_names(ctx.cassandra, "sektor", years)
        sectors = sorted({n for _, n in names})
    rows = await repo.pair_months(ctx.cassandra, sectors, years, kota)
    months: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    by_sector: dict[str, int] = defaultdict(int)
    by_kota: dict[str, int] = defaultdict(int)
    for s, k, y, b, omzet, count in rows:
        if count <= 0:  # emptied by a move out of the aggregates (or a crash not yet repaired)
            continue
        months[(y, b)][0] += omzet
        months[(y, b)][1] += count
        by_sector[s] += omzet
        by_kota[k] += omzet
    return _trend(dict(months), by_sector, by_kota)


async def _own_refs(ctx: Context, *fields: str) -> list[dict[str, Any]]:
    return await repo.umkm_refs(
        ctx.mongo, {"owner_id": ctx.viewer.user_id, "is_deleted": False}, fields
    )


async def _owner_trend(
    ctx: Context, tahun: int | None, sektor: str | None, kota: str | None
) -> RevenueTrend:
    """The owner's own, not deleted UMKMs (any verification status), from their logs; sektor
    and kota are the UMKMs' current ones."""
    refs = await _own_refs(ctx, "_id", "sektor", "wilayah.kota")
    profile = {
        r["_id"]: (r["sektor"], r["wilayah"]["kota"])
        for r in refs
        if (sektor is None or r["sektor"] == sektor)
        and (kota is None or r["wilayah"]["kota"] == kota)
    }
    rows = await ctx.loaders.get(logs_by_umkm).load_many(list(profile))
    months: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    by_sector: dict[str, int] = defaultdict(int)
    by_kota: dict[str, int] = defaultdict(int)
    for umkm_rows in rows:
        for row in umkm_rows:
            if tahun is not None and row["tahun"] != tahun:
                continue
            omzet = row["omzet"] or 0
            s, k = profile[row["umkm_id"]]
            months[(row["tahun"], row["bulan"])][0] += omzet
            months[(row["tahun"], row["bulan"])][1] += 1
            by_sector[s] += omzet
            by_kota[k] += omzet
    return _trend(dict(months), by_sector, by_kota)


# ---------------------------------------------------------------- growth


async def top_growers(
    info: Info, tahun: int, quarter: int | None, first: int | None
) -> list[GrowthRanking]:
    """Ranks from umkm_quarter_totals of the quarter and the one before (2 statements over 16
    bucket partitions each); then loads UMKM documents for the leading candidates only."""
    ctx = info.context
    limit = check_first(first, default=10)
    if quarter is None:
        latest = periods.latest_complete_quarter(*current_month())
        if tahun == latest[0]:
            quarter = latest[1]
        elif tahun < latest[0]:
            quarter = 4
        else:
            return []  # no complete quarter of that year yet
    if not 1 <= quarter <= 4:
        raise errors.bad_input(t("analytics_quarter"), argument="quarter")
    prev = periods.previous_quarter(tahun, quarter)
    current, previous = await asyncio.gather(
        repo.quarter_totals(ctx.cassandra, tahun, quarter),
        repo.quarter_totals(ctx.cassandra, *prev),
    )
    candidates: list[tuple[float, float, uuid.UUID]] = []
    for umkm_id, (total, months) in current.items():
        before_total, before_months = previous.get(umkm_id, (0, 0))
        rate = growth.growth_rate(total, before_total) if months and before_months else None
        if rate is not None:
            exact = (total - before_total) / before_total
            candidates.append((rate, exact, umkm_id))
    candidates.sort(key=lambda c: (-c[0], -c[1], str(c[2])))
    label = periods.periode(tahun, quarter)
    loader = ctx.loaders.get(umkm_by_id)
    result: list[GrowthRanking] = []
    start = 0
    # The aggregates hold VERIFIED, live UMKMs only, so the first batch nearly always suffices;
    # the status check guards against a status change racing the aggregate update.
    while len(result) < limit and start < len(candidates):
        batch = candidates[start : start + 2 * limit]
        start += len(batch)
        docs = await loader.load_many([c[2] for c in batch])
        for (rate, _, _), doc in zip(batch, docs, strict=True):
            if doc is None or doc.get("is_deleted"):
                continue
            if doc["legalitas"]["status_verifikasi"] != "VERIFIED":
                continue
            umkm = umkm_from_doc(doc, ctx.viewer)
            result.append(GrowthRanking(umkm=umkm, periode=label, growth_rate=rate))
            if len(result) == limit:
                break
    return result


# ---------------------------------------------------------------- anomalies


async def suspicious_logs(
    info: Info, tahun: int, bulan: int | None, first: int | None
) -> list[Anomaly]:
    """Cost, stated plainly: this reads the logs of `tahun` and the year before for every
    VERIFIED, live UMKM (one Mongo query for the candidates, then ANOMALY_BATCH UMKMs at a time,
    100 partitions per Cassandra statement). Round trips grow with the number of VERIFIED UMKMs
    / 50: fine for a province or a few hundred thousand UMKMs, not for a national request; at
    that scale the scores belong in a nightly batch job writing a table this query reads."""
    ctx = info.context
    limit = check_first(first, default=50)
    if bulan is not None and not 1 <= bulan <= 12:
        raise errors.bad_input(t("analytics_bulan"), argument="bulan")
    refs = await repo.umkm_refs(ctx.mongo, repo.VERIFIED_LIVE, ("_id", "sektor"))
    sektor = {r["_id"]: r["sektor"] for r in refs}
    ids = list(sektor)
    histories: list[anomalies.UmkmHistory] = []
    rows_by_key: dict[tuple[uuid.UUID, int, int], Row] = {}
    for start in range(0, len(ids), ANOMALY_BATCH):
        batch = ids[start : start + ANOMALY_BATCH]
        omzet: dict[uuid.UUID, dict[int, int]] = defaultdict(dict)
        for row in await repo.logs(ctx.cassandra, batch, [tahun - 1, tahun]):
            omzet[row["umkm_id"]][periods.month_index(row["tahun"], row["bulan"])] = (
                row["omzet"] or 0
            )
            if row["tahun"] == tahun:
                rows_by_key[(row["umkm_id"], row["tahun"], row["bulan"])] = row
        histories.extend(
            anomalies.UmkmHistory(umkm_id=i, sektor=sektor[i], omzet=m) for i, m in omzet.items()
        )
    scored = anomalies.score_months(histories, tahun, bulan)[:limit]
    return [
        Anomaly(
            log=log_from_row(rows_by_key[(s.umkm_id, s.tahun, s.bulan)]),
            score=s.score,
            reason=s.reason,
        )
        for s in scored
    ]


# ---------------------------------------------------------------- dashboards


async def owner_dashboard(info: Info) -> OwnerDashboard:
    ctx = info.context
    refs = await _own_refs(ctx, "_id", "legalitas.status_verifikasi")
    assert ctx.viewer.user_id is not None
    rows, unread = await asyncio.gather(
        ctx.loaders.get(logs_by_umkm).load_many([r["_id"] for r in refs]),
        notification_inbox.unread_count(ctx.cassandra, ctx.viewer.user_id),
    )
    all_rows = [row for umkm_rows in rows for row in umkm_rows]
    this_year = current_month()[0]
    recent = sorted(
        all_rows,
        key=lambda r: (
            r["tanggal_input"] or datetime.min,
            r["tahun"],
            r["bulan"],
            str(r["umkm_id"]),
        ),
        reverse=True,
    )[:RECENT_LOGS]
    return OwnerDashboard(
        total_umkm=len(refs),
        pending_verifications=sum(
            1 for r in refs if r["legalitas"]["status_verifikasi"] == "PENDING"
        ),
        flagged_this_year=sum(1 for r in all_rows if r["tahun"] == this_year and r["is_flagged"]),
        unread_notifications=unread,
        recent_logs=[log_from_row(r) for r in recent],
    )


async def _total_omzet(ctx: Context, since: tuple[int, int], until: tuple[int, int]) -> int:
    """Sum over every sector's aggregate of the months since..until (both included): the sector
    partitions of those years, never the logs."""
    first, last = periods.month_index(*since), periods.month_index(*until)
    rows = await _dimension_rows(ctx, "sektor", list(range(since[0], until[0] + 1)), None)
    return sum(
        omzet
        for _, tahun, bulan, omzet, n in rows
        if n > 0 and first <= periods.month_index(tahun, bulan) <= last
    )


async def official_dashboard(info: Info) -> OfficialDashboard:
    """Counts from umkm_counts (maintained on every profile write, db/writes/umkm_counts.py): one
    statement over one small partition instead of counting the profiles."""
    ctx = info.context
    this_year, this_month = current_month()
    last_month = periods.add_months(this_year, this_month, -1)
    counts, flagged, omzet = await asyncio.gather(
        umkm_counts.read(ctx.cassandra, ("status",)),
        repo.count_flagged(ctx.cassandra, this_year),
        _total_omzet(ctx, last_month, last_month),
    )
    by_status = counts["status"]
    return OfficialDashboard(
        total_umkm=sum(by_status.values()),
        verified_umkm=by_status.get("VERIFIED", 0),
        pending_verifications=by_status.get("PENDING", 0),
        flagged_this_year=flagged,
        total_omzet_last_month=Rupiah(omzet),
    )


async def public_stats(info: Info) -> PublicStats:
    """verifiedUmkm, sectors, cities: from umkm_counts (VERIFIED, live UMKMs per status, sektor
    and kota; names counting none are left out); totalOmzetLastYear: the last 12 complete WIB
    months (a rolling year, the contract's definition), from the sector aggregates of the one or
    two calendar years they fall in."""
    ctx = info.context
    this_year, this_month = current_month()
    counts, omzet = await asyncio.gather(
        umkm_counts.read(ctx.cassandra, umkm_counts.SCOPES),
        _total_omzet(ctx, *periods.rolling_year(this_year, this_month)),
    )
    return PublicStats(
        verified_umkm=counts["status"].get("VERIFIED", 0),
        sectors=len(counts["sektor"]),
        cities=len(counts["kota"]),
        total_omzet_last_year=Rupiah(omzet),
    )
