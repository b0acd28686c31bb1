"""B1: the benchmark shapes answered without GraphQL, through the same db/ repositories and
batch functions the resolvers use (so the same database calls: one Mongo query per list with the
row rule and projection pushed into it, one multi-partition Cassandra read per wave), building
the JSON by hand.

Each builder returns the JSON value of one root field for one request, camelCase and with
scalars already serialised, exactly what the GraphQL response holds. B2 (bench/core.py) serves
the same values through graphql-core, so B1 and B2 make the same database calls.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cassandra.util import datetime_from_uuid1

from db import analytics, umkm_profiles, users
from db import notification_inbox as inbox
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import financial as financial_writes
from db.writes import umkm_counts
from loaders.financial import PageKey, load_pages
from sigma_graphql.core.clock import current_month
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.permissions import umkm_row_filter

Json = dict[str, Any]
Builder = Callable[["Request"], Awaitable[Any]]


@dataclass
class Request:
    dbs: Databases
    viewer: Viewer
    variables: dict[str, Any]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _lokasi(doc: MongoDoc) -> Json | None:
    lokasi = doc.get("lokasi")
    if not lokasi:
        return None
    return {"latitude": lokasi["coordinates"][1], "longitude": lokasi["coordinates"][0]}


# ------------------------------------------------------------------ (a) public catalogue


async def _umkm_page(req: Request, first: int) -> tuple[list[MongoDoc], int]:
    """The list query of resolvers.umkm.list_umkms: row rule, sort, projection. No count: the
    shapes do not select totalCount and list_umkms counts only when it is selected (perf2)."""
    query = umkm_row_filter(req.viewer)
    projection = umkm_profiles.list_projection(private=not req.viewer.is_public)
    docs = await umkm_profiles.find_page(req.dbs.mongo, query, first + 1, projection)
    return docs, 0


async def catalog_umkms(req: Request) -> Json:
    first = int(req.variables["first"])
    docs, _total = await _umkm_page(req, first)
    return {
        "pageInfo": {"hasNextPage": len(docs) > first},
        "nodes": [
            {
                "id": str(d["_id"]),
                "namaUsaha": d["nama_usaha"],
                "sektor": d["sektor"],
                "wilayah": {"kota": d["wilayah"]["kota"], "provinsi": d["wilayah"]["provinsi"]},
                "legalitas": {"statusVerifikasi": d["legalitas"]["status_verifikasi"]},
                "lokasi": _lokasi(d),
            }
            for d in docs[:first]
        ],
    }


# ------------------------------------------------------------------ (b) official dashboard


async def _stats(req: Request, dimension: str, tahun: int) -> list[tuple[str, int, int, int, int]]:
    """Aggregate rows of every sektor/kota with data that year (dashboard_keys, then one read)."""
    names = [n for _, n in await analytics.dashboard_names(req.dbs.cassandra, dimension, [tahun])]
    read = analytics.sector_months if dimension == "sektor" else analytics.region_months
    return await read(req.dbs.cassandra, names, [tahun])


def _stats_json(rows: list[tuple[str, int, int, int, int]], name: str) -> list[Json]:
    grouped: dict[str, list[tuple[int, int, int, int]]] = {}
    for key, tahun, bulan, omzet, count in rows:
        if count > 0 or omzet != 0:
            grouped.setdefault(key, []).append((tahun, bulan, omzet, count))
    out = []
    for key in sorted(grouped):
        months = sorted(grouped[key])
        out.append(
            {
                name: key,
                "totalOmzet": sum(m[2] for m in months),
                "months": [{"bulan": b, "totalOmzet": o, "jumlahUmkm": c} for _, b, o, c in months],
            }
        )
    return out


async def sector_stats(req: Request) -> list[Json]:
    return _stats_json(await _stats(req, "sektor", int(req.variables["tahun"])), "sektor")


async def region_stats(req: Request) -> list[Json]:
    return _stats_json(await _stats(req, "kota", int(req.variables["tahun"])), "kota")


async def official_dashboard(req: Request) -> Json:
    this_year, this_month = current_month()
    tahun, bulan = (this_year, this_month - 1) if this_month > 1 else (this_year - 1, 12)
    counts, flagged, rows = await asyncio.gather(
        umkm_counts.read(req.dbs.cassandra, ("status",)),
        analytics.count_flagged(req.dbs.cassandra, this_year),
        _stats(req, "sektor", tahun),
    )
    by_status = counts["status"]
    return {
        "totalUmkm": sum(by_status.values()),
        "verifiedUmkm": by_status.get("VERIFIED", 0),
        "pendingVerifications": by_status.get("PENDING", 0),
        "flaggedThisYear": flagged,
        "totalOmzetLastMonth": sum(o for _, _, b, o, _ in rows if b == bulan),
    }


# ------------------------------------------------------------------ (c) owner


async def _log_pages(req: Request, keys: list[PageKey]) -> list[list[Json]]:
    pages = await load_pages(req.dbs, keys)
    return [
        [
            {
                "tahun": r["tahun"],
                "bulan": r["bulan"],
                "omzet": int(r["omzet"] or 0),
                "jumlahKaryawan": int(r.get("jumlah_karyawan") or 0),
                "catatan": r.get("catatan"),
                "isFlagged": bool(r.get("is_flagged")),
            }
            for r in page.rows
        ]
        for page in pages
    ]


async def me(req: Request) -> Json | None:
    user_id = req.viewer.user_id
    if user_id is None:
        return None
    first = int(req.variables["umkms"])
    found, pages = await asyncio.gather(
        users.find_by_ids(req.dbs.mongo, [user_id]),
        umkm_profiles.first_by_owners(
            req.dbs.mongo, [user_id], first + 1, None, umkm_profiles.FULL_PROJECTION
        ),
    )
    if not found:
        return None
    docs = pages.get(user_id, (0, []))[1][:first]
    months = int(req.variables["months"])
    logs = await _log_pages(req, [PageKey(d["_id"], None, months, None) for d in docs])
    nodes = []
    for d, page in zip(docs, logs, strict=True):
        summary = d.get("summary_terakhir")
        nodes.append(
            {
                "id": str(d["_id"]),
                "namaUsaha": d["nama_usaha"],
                "sektor": d["sektor"],
                "summaryTerakhir": {
                    "tahun": summary["tahun"],
                    "bulan": summary["bulan"],
                    "omzet": summary["omzet"],
                }
                if summary
                else None,
                "financialLogs": {"nodes": page},
            }
        )
    return {"id": str(user_id), "nama": found[0]["nama"], "umkms": {"nodes": nodes}}


async def notifications(req: Request) -> Json:
    first = int(req.variables["notif"])
    assert req.viewer.user_id is not None
    rows = await inbox.page(req.dbs.cassandra, req.viewer.user_id, first + 1, None, False)
    return {
        "nodes": [
            {
                "id": str(r["notification_id"]),
                "type": r["type"],
                "title": r["title"],
                "isRead": bool(r["is_read"]),
                "createdAt": _iso(datetime_from_uuid1(r["notification_id"])),
            }
            for r in rows[:first]
        ]
    }


# ------------------------------------------------------------------ (d) staff audit


async def audit_umkms(req: Request) -> Json:
    first = int(req.variables["first"])
    tahun = int(req.variables["tahun"])
    docs = (await _umkm_page(req, first))[0][:first]
    owner_ids = list(dict.fromkeys(d["owner_id"] for d in docs if d.get("owner_id")))
    owners, logs = await asyncio.gather(
        users.find_by_ids(req.dbs.mongo, owner_ids),
        _log_pages(req, [PageKey(d["_id"], tahun, 24, None) for d in docs]),
    )
    names = {o["_id"]: o["nama"] for o in owners}
    return {
        "nodes": [
            {
                "id": str(d["_id"]),
                "namaUsaha": d["nama_usaha"],
                "owner": {"nama": names[d["owner_id"]]} if d.get("owner_id") in names else None,
                "financialLogs": {
                    "nodes": [
                        {"bulan": x["bulan"], "omzet": x["omzet"], "isFlagged": x["isFlagged"]}
                        for x in page
                    ]
                },
            }
            for d, page in zip(docs, logs, strict=True)
        ]
    }


# ------------------------------------------------------------------ (e) write path


async def submit_log(req: Request) -> Json:
    """The write of resolvers.financial.submit_log (same repository call), minus GraphQL."""
    data = req.variables["input"]
    umkm_id = uuid.UUID(str(data["umkmId"]))
    doc = await umkm_profiles.find_by_id(req.dbs.mongo, umkm_id)
    allowed = (
        doc is not None
        and not doc.get("is_deleted")
        and (req.viewer.is_staff or req.viewer.owns(doc.get("owner_id")))
        and doc["legalitas"]["status_verifikasi"] == "VERIFIED"
    )
    if doc is None or not allowed:
        error = {"field": ["input", "umkmId"], "message": "-", "code": "FORBIDDEN"}
        return {"log": None, "userErrors": [error]}
    done = await financial_writes.submit(
        req.dbs,
        doc,
        tahun=int(data["tahun"]),
        bulan=int(data["bulan"]),
        omzet=int(data["omzet"]),
        jumlah_karyawan=int(data["jumlahKaryawan"]),
        catatan=data.get("catatan"),
        by=req.viewer.user_id,
    )
    row = done.row
    return {
        "log": {
            "umkmId": str(row["umkm_id"]),
            "tahun": row["tahun"],
            "bulan": row["bulan"],
            "omzet": int(row["omzet"] or 0),
            "jumlahKaryawan": int(row.get("jumlah_karyawan") or 0),
        },
        "userErrors": [],
    }


# Builders per shape and root field.
BUILDERS: dict[str, dict[str, Builder]] = {
    "a": {"umkms": catalog_umkms},
    "b": {
        "officialDashboard": official_dashboard,
        "sectorStats": sector_stats,
        "regionStats": region_stats,
    },
    "c": {"me": me, "notifications": notifications},
    "d": {"umkms": audit_umkms},
    "e": {"submitFinancialLog": submit_log},
}


async def build(shape: str, req: Request) -> Json:
    """The `data` object of the shape's response."""
    builders = BUILDERS[shape]
    values = await asyncio.gather(*(fn(req) for fn in builders.values()))
    return dict(zip(builders, values, strict=True))
