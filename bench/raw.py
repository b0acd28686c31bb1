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

from db import financial_writes, umkm_profiles, users
from db import notification_inbox as inbox
from db.cassandra import Cassandra
from db.handles import Databases
from db.mongo import MongoDoc
from db.seed import last_complete_months
from loaders.financial import PageKey, load_pages
from sigma_graphql.permissions import umkm_row_filter
from sigma_graphql.viewer import Viewer

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


def _not_deleted(extra: MongoDoc | None = None) -> MongoDoc:
    return {"is_deleted": False, **(extra or {})}


# ------------------------------------------------------------------ (a) public catalogue


async def _umkm_page(req: Request, first: int) -> tuple[list[MongoDoc], int]:
    """The list query of resolvers.umkm.list_umkms: row rule, sort, projection, count."""
    query = umkm_row_filter(req.viewer)
    projection = umkm_profiles.list_projection(private=not req.viewer.is_public)
    docs, total = await asyncio.gather(
        umkm_profiles.find_page(req.dbs.mongo, query, first + 1, projection),
        umkm_profiles.count(req.dbs.mongo, query),
    )
    return docs, total


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

_KEYS = "SELECT name FROM dashboard_keys WHERE dimension = ? AND tahun = ?"
_SECTOR_ROWS = (
    "SELECT sektor, bulan, total_omzet, total_umkm FROM dashboard_sector_stats "
    "WHERE sektor IN ? AND tahun = ?"
)
_REGION_ROWS = (
    "SELECT kota, bulan, total_omzet, umkm_aktif FROM dashboard_region_stats "
    "WHERE kota IN ? AND tahun = ?"
)


async def _stats(req: Request, dimension: str, tahun: int) -> list[Json]:
    keys = [r["name"] for r in await req.dbs.cassandra.execute(_KEYS, (dimension, tahun))]
    if not keys:
        return []
    cql, count = (
        (_SECTOR_ROWS, "total_umkm") if dimension == "sektor" else (_REGION_ROWS, "umkm_aktif")
    )
    rows = await req.dbs.cassandra.execute(cql, (keys, tahun))
    grouped: dict[str, list[Json]] = {k: [] for k in sorted(keys)}
    for r in rows:
        grouped[r[dimension]].append(
            {"bulan": r["bulan"], "totalOmzet": r["total_omzet"] or 0, "jumlahUmkm": r[count] or 0}
        )
    name = "sektor" if dimension == "sektor" else "kota"
    return [
        {name: k, "totalOmzet": sum(m["totalOmzet"] for m in months), "months": months}
        for k, months in grouped.items()
        if months
    ]


async def sector_stats(req: Request) -> list[Json]:
    return await _stats(req, "sektor", int(req.variables["tahun"]))


async def region_stats(req: Request) -> list[Json]:
    return await _stats(req, "kota", int(req.variables["tahun"]))


async def official_dashboard(req: Request) -> Json:
    coll = req.dbs.mongo[umkm_profiles.COLLECTION]
    (tahun, bulan), now_year = last_complete_months(1)[0], datetime.now(UTC).year
    total, verified, pending, sectors = await asyncio.gather(
        coll.count_documents(_not_deleted()),
        coll.count_documents(_not_deleted({"legalitas.status_verifikasi": "VERIFIED"})),
        coll.count_documents(_not_deleted({"legalitas.status_verifikasi": "PENDING"})),
        _stats(req, "sektor", tahun),
    )
    last_month = sum(m["totalOmzet"] for s in sectors for m in s["months"] if m["bulan"] == bulan)
    del now_year
    return {
        "totalUmkm": total,
        "verifiedUmkm": verified,
        "pendingVerifications": pending,
        # Flag counts come from the financial domain's own table; the synthetic data has none.
        "flaggedThisYear": 0,
        "totalOmzetLastMonth": last_month,
    }


# ------------------------------------------------------------------ (c) owner


@dataclass
class _CassandraOnly:
    """What loaders.financial.load_pages needs from a context."""

    cassandra: Cassandra


async def _log_pages(req: Request, keys: list[PageKey]) -> list[list[Json]]:
    pages = await load_pages(_CassandraOnly(req.dbs.cassandra), keys)  # type: ignore[arg-type]
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
    found, all_docs = await asyncio.gather(
        users.find_by_ids(req.dbs.mongo, [user_id]),
        umkm_profiles.find_by_owners(req.dbs.mongo, [user_id], umkm_profiles.FULL_PROJECTION),
    )
    if not found:
        return None
    docs = all_docs[:first]
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
