"""B1: the benchmark shapes answered without GraphQL, with the data plan a good resolver layer
should reach: one Mongo query per list (row rule and projection pushed into the query), one
Cassandra statement per batch (multi-partition IN, prepared), independent reads concurrent.

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

from db import umkm_profiles, users
from db.handles import Databases
from db.mongo import MongoDoc
from db.seed import last_complete_months
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

_CATALOG_PROJECTION = {
    "nama_usaha": 1,
    "sektor": 1,
    "wilayah.kota": 1,
    "wilayah.provinsi": 1,
    "legalitas.status_verifikasi": 1,
    "lokasi": 1,
}


async def catalog_umkms(req: Request) -> Json:
    first = int(req.variables["first"])
    docs = (
        await req.dbs.mongo[umkm_profiles.COLLECTION]
        .find(_not_deleted({"legalitas.status_verifikasi": "VERIFIED"}), _CATALOG_PROJECTION)
        .sort("_id", 1)
        .limit(first + 1)
        .to_list(first + 1)
    )
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

_YEARS = "SELECT umkm_id, tahun FROM umkm_log_years WHERE umkm_id IN ?"
_LOGS_YEARS = (
    "SELECT umkm_id, tahun, bulan, omzet, jumlah_karyawan, catatan, is_flagged "
    "FROM umkm_financial_log WHERE umkm_id IN ? AND tahun IN ?"
)


async def _latest_logs(
    req: Request, ids: list[uuid.UUID], months: int
) -> dict[uuid.UUID, list[Json]]:
    """Newest `months` logs per UMKM: two statements whatever the number of UMKMs."""
    out: dict[uuid.UUID, list[Json]] = {i: [] for i in ids}
    if not ids:
        return out
    years = sorted(
        {r["tahun"] for r in await req.dbs.cassandra.execute(_YEARS, (ids,))}, reverse=True
    )[: months // 12 + 2]
    if not years:
        return out
    rows = await req.dbs.cassandra.execute(_LOGS_YEARS, (ids, years))
    rows.sort(key=lambda r: (r["tahun"], r["bulan"]), reverse=True)
    for r in rows:
        bucket = out[r["umkm_id"]]
        if len(bucket) < months:
            bucket.append(
                {
                    "tahun": r["tahun"],
                    "bulan": r["bulan"],
                    "omzet": r["omzet"],
                    "jumlahKaryawan": r["jumlah_karyawan"],
                    "catatan": r["catatan"],
                    "isFlagged": bool(r["is_flagged"]),
                }
            )
    return out


async def me(req: Request) -> Json | None:
    user_id = req.viewer.user_id
    if user_id is None:
        return None
    first = int(req.variables["umkms"])
    user, docs = await asyncio.gather(
        users.find_by_id(req.dbs.mongo, user_id),
        req.dbs.mongo[umkm_profiles.COLLECTION]
        .find(
            _not_deleted({"owner_id": user_id}),
            {"nama_usaha": 1, "sektor": 1, "summary_terakhir": 1},
        )
        .sort("_id", 1)
        .limit(first + 1)
        .to_list(first + 1),
    )
    if user is None:
        return None
    docs = docs[:first]
    logs = await _latest_logs(req, [d["_id"] for d in docs], int(req.variables["months"]))
    nodes = []
    for d in docs:
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
                "financialLogs": {"nodes": logs[d["_id"]]},
            }
        )
    return {"id": str(user_id), "nama": user["nama"], "umkms": {"nodes": nodes}}


_NOTIFICATIONS = (
    "SELECT notification_id, type, title, is_read FROM flag_notifications "
    "WHERE owner_id = ? LIMIT ?"
)


async def notifications(req: Request) -> Json:
    first = int(req.variables["notif"])
    rows = await req.dbs.cassandra.execute(_NOTIFICATIONS, (req.viewer.user_id, first + 1))
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

_LOGS_YEAR = (
    "SELECT umkm_id, bulan, omzet, is_flagged FROM umkm_financial_log "
    "WHERE umkm_id IN ? AND tahun = ?"
)


async def audit_umkms(req: Request) -> Json:
    first = int(req.variables["first"])
    tahun = int(req.variables["tahun"])
    docs = (
        await req.dbs.mongo[umkm_profiles.COLLECTION]
        .find(_not_deleted(), {"nama_usaha": 1, "owner_id": 1})
        .sort("_id", 1)
        .limit(first + 1)
        .to_list(first + 1)
    )[:first]
    ids = [d["_id"] for d in docs]
    owner_ids = list({d["owner_id"] for d in docs if d.get("owner_id")})
    owners, rows = await asyncio.gather(
        req.dbs.mongo[users.COLLECTION]
        .find({"_id": {"$in": owner_ids}}, {"nama": 1})
        .to_list(None),
        req.dbs.cassandra.execute(_LOGS_YEAR, (ids, tahun)),
    )
    names = {o["_id"]: o["nama"] for o in owners}
    logs: dict[uuid.UUID, list[Json]] = {i: [] for i in ids}
    for r in rows:  # partition order, bulan DESC inside each
        logs[r["umkm_id"]].append(
            {"bulan": r["bulan"], "omzet": r["omzet"], "isFlagged": bool(r["is_flagged"])}
        )
    return {
        "nodes": [
            {
                "id": str(d["_id"]),
                "namaUsaha": d["nama_usaha"],
                "owner": {"nama": names[d["owner_id"]]} if d.get("owner_id") in names else None,
                "financialLogs": {"nodes": logs[d["_id"]][:24]},
            }
            for d in docs
        ]
    }


# ------------------------------------------------------------------ (e) write path

_OLD_ROW = (
    "SELECT omzet, counted_omzet, counted_sektor, counted_kota FROM umkm_financial_log "
    "WHERE umkm_id = ? AND tahun = ? AND bulan = ?"
)
_WRITE_ROW = (
    "INSERT INTO umkm_financial_log (umkm_id, tahun, bulan, omzet, jumlah_karyawan, catatan, "
    "tanggal_input, input_by, nama_usaha, sektor, kota, is_flagged, counted_omzet, "
    "counted_sektor, counted_kota) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, ?, ?)"
)
_WRITE_YEAR = "INSERT INTO umkm_log_years (umkm_id, tahun) VALUES (?, ?)"
_SECTOR_DELTA = (
    "UPDATE dashboard_sector_stats SET total_omzet = total_omzet + ?, "
    "total_umkm = total_umkm + ? WHERE sektor = ? AND tahun = ? AND bulan = ?"
)
_REGION_DELTA = (
    "UPDATE dashboard_region_stats SET total_omzet = total_omzet + ?, "
    "umkm_aktif = umkm_aktif + ? WHERE kota = ? AND tahun = ? AND bulan = ?"
)


async def submit_log(req: Request) -> Json:
    data = req.variables["input"]
    umkm_id = uuid.UUID(str(data["umkmId"]))
    tahun, bulan, omzet = int(data["tahun"]), int(data["bulan"]), int(data["omzet"])
    karyawan = int(data["jumlahKaryawan"])
    cass = req.dbs.cassandra
    doc, old = await asyncio.gather(
        req.dbs.mongo[umkm_profiles.COLLECTION].find_one(
            {"_id": umkm_id},
            {"owner_id": 1, "nama_usaha": 1, "sektor": 1, "wilayah.kota": 1, "summary_terakhir": 1},
        ),
        cass.execute(_OLD_ROW, (umkm_id, tahun, bulan)),
    )
    if doc is None or not req.viewer.owns(doc.get("owner_id")):
        return {
            "log": None,
            "userErrors": [{"field": ["umkmId"], "message": "-", "code": "FORBIDDEN"}],
        }
    sektor, kota = doc["sektor"], doc["wilayah"]["kota"]
    previous = old[0] if old else None
    delta = omzet - int((previous or {}).get("counted_omzet") or 0)
    new_month = 0 if previous and previous.get("counted_omzet") is not None else 1
    await cass.execute(
        _WRITE_ROW,
        (
            umkm_id,
            tahun,
            bulan,
            omzet,
            karyawan,
            data.get("catatan"),
            datetime.now(UTC),
            req.viewer.user_id,
            doc["nama_usaha"],
            sektor,
            kota,
            omzet,
            sektor,
            kota,
        ),
    )
    await asyncio.gather(
        cass.execute(_WRITE_YEAR, (umkm_id, tahun)),
        cass.execute(_SECTOR_DELTA, (delta, new_month, sektor, tahun, bulan)),
        cass.execute(_REGION_DELTA, (delta, new_month, kota, tahun, bulan)),
    )
    summary = doc.get("summary_terakhir")
    if summary is None or (tahun, bulan) >= (summary["tahun"], summary["bulan"]):
        await req.dbs.mongo[umkm_profiles.COLLECTION].update_one(
            {"_id": umkm_id},
            {"$set": {"summary_terakhir": {"tahun": tahun, "bulan": bulan, "omzet": omzet}}},
        )
    return {
        "log": {
            "umkmId": str(umkm_id),
            "tahun": tahun,
            "bulan": bulan,
            "omzet": omzet,
            "jumlahKaryawan": karyawan,
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
