"""What an export job writes (issue 18): the rows of its kind, for the viewer who started it,
page by page into a sheet writer. The worker that runs jobs (leases, heartbeat, the file's
upload, status and events) is sigma_graphql/server/export_worker.py.

The viewer is rebuilt from the creator's account each time the job runs: an account suspended,
deleted or moved out of staff since it started the job gets a FAILED job, not a file.
Memory: one page of documents and rows at a time (PAGE profiles, REVENUE_PAGE UMKMs' months);
the writers keep nothing of earlier pages (sigma_graphql/core/sheet_writers.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from db import analytics, export_sources, umkm_profiles, users
from db.drivers.cassandra import Cassandra
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.reference import canonical_sector
from resolvers.umkm import list_query
from schema.types.enums import VerificationStatus
from schema.types.exports import (
    COLUMNS,
    ExportKind,
    revenue_rows,
    umkm_row,
)
from schema.types.umkm import UMKMFilter, umkms_from_docs
from sigma_graphql.core.clock import current_month
from sigma_graphql.core.input_limits import FIRST_YEAR
from sigma_graphql.core.sheet_writers import Cell, Column, SheetWriter
from sigma_graphql.core.viewer import Audience, Viewer
from sigma_graphql.permissions import EXPORT_ACCESS

PAGE = 500
REVENUE_PAGE = 100  # db/financial_logs.MAX_IN: one statement per page

# (rows written so far, progress 0..1); the worker throttles what it stores and publishes.
Progress = Callable[[int, float], Awaitable[None]]


Cells = tuple[str, int, int, int, int]  # (name, tahun, bulan, total_omzet, jumlah_umkm)


class Refused(Exception):
    """The job cannot run for its creator any more (the reason is the message)."""


def columns_of(job: MongoDoc) -> tuple[Column, ...]:
    return COLUMNS[ExportKind(job["kind"])]


async def job_viewer(dbs: Databases, job: MongoDoc) -> Viewer:
    """The creator as a viewer now; Refused when that account may no longer export this."""
    user = await users.find_by_id(dbs.mongo, job["owner_id"])
    if user is None or user.get("account_status") != "ACTIVE":
        raise Refused("the account that started the export is no longer active")
    audience = Audience(user["role"])
    if audience not in EXPORT_ACCESS[job["kind"]]:
        raise Refused("the account that started the export may no longer export this")
    return Viewer(
        audience=audience,
        user_id=user["_id"],
        nama=user.get("nama"),
        email=user.get("email"),
        wilayah=user.get("wilayah"),
    )


def year_range(f: dict[str, Any]) -> range:
    last = current_month()[0]
    return range(f.get("tahun_from") or FIRST_YEAR, (f.get("tahun_to") or last) + 1)


def umkm_filter(f: dict[str, Any]) -> UMKMFilter:
    status = f.get("status")
    return UMKMFilter(
        sektor=f.get("sektor"),
        kota=f.get("kota"),
        provinsi=f.get("provinsi"),
        status=VerificationStatus(status) if status else None,
        include_deleted=bool(f.get("include_deleted")),
    )


async def _write(writer: SheetWriter, rows: list[list[Cell]]) -> None:
    # The writers are synchronous (XlsxWriter, csv): off the event loop, which keeps serving.
    if rows:
        await asyncio.to_thread(writer.write_rows, rows)


async def write_export(
    dbs: Databases, job: MongoDoc, viewer: Viewer, writer: SheetWriter, progress: Progress
) -> int:
    """Writes the job's rows; returns how many."""
    kind = ExportKind(job["kind"])
    f: dict[str, Any] = job.get("filter") or {}
    if kind in (ExportKind.SECTOR_STATS, ExportKind.REGION_STATS):
        return await _stats(dbs, kind, f, writer, progress)
    query = list_query(viewer, umkm_filter(f))
    total = max(1, await umkm_profiles.count(dbs.mongo, query))
    years = year_range(f)
    seen = written = 0
    batch = PAGE if kind is ExportKind.UMKM_REGISTRY else REVENUE_PAGE
    async for docs in export_sources.profile_batches(dbs.mongo, query, batch):
        umkms = umkms_from_docs(docs, viewer)
        if kind is ExportKind.UMKM_REGISTRY:
            rows = [umkm_row(u, viewer) for u in umkms]
        else:
            months = await export_sources.months_of(
                dbs.cassandra, [u.umkm_id for u in umkms], years
            )
            rows = [r for u in umkms for r in revenue_rows(months.get(u.umkm_id, []), u, viewer)]
        await _write(writer, rows)
        seen += len(docs)
        written += len(rows)
        await progress(written, min(seen / total, 1.0))
    return written


async def _stats(
    dbs: Databases, kind: ExportKind, f: dict[str, Any], writer: SheetWriter, progress: Progress
) -> int:
    """The sector or region aggregates, as sectorStats / regionStats give them (cells counting
    no UMKM left out), one name at a time."""
    years = list(year_range(f))
    read: Callable[[Cassandra, Sequence[str], Sequence[int]], Awaitable[list[Cells]]]
    if kind is ExportKind.SECTOR_STATS:
        dimension, raw = "sektor", f.get("sektor")
        only = (canonical_sector(raw) or raw.strip()) if raw else None
        read = analytics.sector_months
    else:
        dimension, raw = "kota", f.get("kota")
        only = raw.strip() if raw else None
        read = analytics.region_months
    if only is not None:
        names = [only]
    else:
        names = sorted(
            {n for _, n in await analytics.dashboard_names(dbs.cassandra, dimension, years)}
        )
    written = 0
    for i, name in enumerate(names):
        cells = await read(dbs.cassandra, [name], years)
        rows: list[list[Cell]] = [
            [n, tahun, bulan, omzet, count]
            for n, tahun, bulan, omzet, count in sorted(cells, key=lambda c: (c[1], c[2]))
            if count > 0
        ]
        await _write(writer, rows)
        written += len(rows)
        await progress(written, (i + 1) / len(names))
    return written


def file_name(job: MongoDoc) -> str:
    kind = str(job["kind"]).lower().replace("_", "-")
    stamp = job["created_at"].strftime("%Y%m%d-%H%M%S")
    ext = "xlsx" if job["format"] == "XLSX" else "csv"
    return f"sigma-{kind}-{stamp}-{str(job['_id'])[:8]}.{ext}"


def content_type(job: MongoDoc) -> str:
    if job["format"] == "XLSX":
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "text/csv; charset=utf-8"
