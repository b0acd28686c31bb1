"""Repository of the `umkm_profiles` collection.

Document shape (one type for every id: BSON UUID, standard representation):
{_id, owner_id, nama_usaha, nama_lower, sektor, tanggal_bergabung, created_at, updated_at,
 pemilik: {nama, nik, telepon, email},
 lokasi: {type: "Point", coordinates: [lng, lat]} | None, geohash: str | None,
 wilayah: {kota, provinsi, alamat_lengkap},
 kota_lower: str | None (wilayah.kota lower-cased: the `kota` filter is an indexed equality on it
   instead of an unindexable case-insensitive regex; set by new_umkm_doc and compare_and_set,
   backfilled by `sigma-graphql migrate`. No provinsi_lower: provinsi is stored canonical, so the
   filter canonicalises its input and compares exactly),
 legalitas: {nib, pirt, halal, dokumen_url, status_verifikasi, verified_by, tanggal_verifikasi,
             rejection_reason},
 is_deleted, deleted_at, summary_terakhir: {tahun, bulan, omzet} | None,
 summary_ticket, summary_written: int | absent (ordering of summary_terakhir writes, no wall
   clock involved: db/aggregates.refresh_summary takes a ticket ($inc), then reads the logs, and
   writes only if no larger ticket was written, so concurrent log writers converge on the
   newest reading. Absent until the first summary),
 version: int (optimistic concurrency: every write of this repository compares and increments it;
   the summary writes of db/writes/aggregates.py and db/maintenance/rebuild.py do not, since they
   touch only summary_terakhir and its tickets, which no compare-and-set of the profile reads),
 verification_task_id: UUID | None (the Cassandra task of the latest submission for review;
   kept after the decision so `repair-verification` can finish a half-done one)}
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from db import geohash
from db.drivers.mongo import MongoDoc

COLLECTION = "umkm_profiles"


def new_umkm_doc(
    *,
    nama_usaha: str,
    sektor: str,
    kota: str,
    provinsi: str,
    pemilik: dict[str, Any],
    owner_id: uuid.UUID | None,
    status: str = "PENDING",
    alamat_lengkap: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    legalitas: dict[str, Any] | None = None,
    umkm_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
    verified_by: uuid.UUID | None = None,
) -> MongoDoc:
    now = created_at or datetime.now(UTC)
    located = latitude is not None and longitude is not None
    legal = {"nib": None, "pirt": None, "halal": None, "dokumen_url": None, **(legalitas or {})}
    legal.update(
        {
            "status_verifikasi": status,
            "verified_by": verified_by if status == "VERIFIED" else None,
            "tanggal_verifikasi": now if status == "VERIFIED" else None,
            "rejection_reason": None,
        }
    )
    return {
        "_id": umkm_id or uuid.uuid4(),
        "owner_id": owner_id,
        "nama_usaha": nama_usaha,
        "nama_lower": nama_usaha.lower(),
        "sektor": sektor,
        "tanggal_bergabung": now,
        "created_at": now,
        "updated_at": now,
        "pemilik": {
            "nama": pemilik["nama"],
            "nik": pemilik.get("nik"),
            "telepon": pemilik["telepon"],
            "email": pemilik.get("email"),
        },
        "lokasi": ({"type": "Point", "coordinates": [longitude, latitude]} if located else None),
        "geohash": geohash.encode(latitude, longitude) if located else None,  # type: ignore[arg-type]
        "wilayah": {"kota": kota, "provinsi": provinsi, "alamat_lengkap": alamat_lengkap},
        "kota_lower": kota_key(kota),
        "legalitas": legal,
        "is_deleted": False,
        "deleted_at": None,
        "summary_terakhir": None,
        "version": 0,
        "verification_task_id": None,
    }


def kota_key(kota: str | None) -> str | None:
    """The stored and queried form of a kota (case-insensitive exact match by equality)."""
    return kota.strip().lower() if kota is not None else None


def derived(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` plus the fields computed from them, so no write path can forget one."""
    if "wilayah.kota" in changes:
        return {**changes, "kota_lower": kota_key(changes["wilayah.kota"])}
    return changes


async def insert(db: AsyncDatabase[MongoDoc], doc: MongoDoc) -> None:
    await db[COLLECTION].insert_one(doc)


async def find_by_id(db: AsyncDatabase[MongoDoc], umkm_id: uuid.UUID) -> MongoDoc | None:
    return await db[COLLECTION].find_one({"_id": umkm_id})


async def find_by_ids(
    db: AsyncDatabase[MongoDoc], ids: Sequence[uuid.UUID], projection: dict[str, int] | None = None
) -> list[MongoDoc]:
    """One round trip for any number of ids (DataLoader batch function)."""
    cursor = db[COLLECTION].find({"_id": {"$in": list(ids)}}, projection)
    return [doc async for doc in cursor]


# Newest first; _id breaks ties so the order is total and keyset cursors are exact.
SORT: list[tuple[str, int]] = [("created_at", -1), ("_id", -1)]

# What schema.types.umkm.umkm_from_doc reads (plus the sort keys). Viewers who may not see the
# private parts get them left out of the query instead of dropped after fetching.
_PUBLIC_FIELDS = (
    "owner_id",
    "nama_usaha",
    "sektor",
    "tanggal_bergabung",
    "created_at",
    "wilayah.kota",
    "wilayah.provinsi",
    "lokasi",
    "legalitas.nib",
    "legalitas.pirt",
    "legalitas.halal",
    "legalitas.status_verifikasi",
    "legalitas.tanggal_verifikasi",
    "legalitas.verified_by",
    "is_deleted",
    "deleted_at",
)
_PRIVATE_FIELDS = (
    "wilayah.alamat_lengkap",
    "legalitas.dokumen_url",
    "legalitas.rejection_reason",
    "pemilik",
    "summary_terakhir",
)
PUBLIC_PROJECTION: dict[str, int] = dict.fromkeys(_PUBLIC_FIELDS, 1)
FULL_PROJECTION: dict[str, int] = dict.fromkeys(_PUBLIC_FIELDS + _PRIVATE_FIELDS, 1)


def list_projection(private: bool) -> dict[str, int]:
    return FULL_PROJECTION if private else PUBLIC_PROJECTION


def after_filter(created_at: datetime, umkm_id: uuid.UUID) -> dict[str, Any]:
    """Rows strictly after (created_at, _id) in SORT order."""
    return {
        "$or": [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": umkm_id}},
        ]
    }


def combine(*filters: dict[str, Any]) -> dict[str, Any]:
    parts = [f for f in filters if f]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


async def find_page(
    db: AsyncDatabase[MongoDoc], query: dict[str, Any], limit: int, projection: dict[str, int]
) -> list[MongoDoc]:
    cursor = db[COLLECTION].find(query, projection).sort(SORT).limit(limit)
    return [doc async for doc in cursor]


async def count(db: AsyncDatabase[MongoDoc], query: dict[str, Any]) -> int:
    return await db[COLLECTION].count_documents(query)


async def find_all(
    db: AsyncDatabase[MongoDoc], query: dict[str, Any], projection: dict[str, int]
) -> list[MongoDoc]:
    # One reply for up to 1000 documents (the default first batch is 101).
    cursor = db[COLLECTION].find(query, projection).sort(SORT).batch_size(1000)
    return [doc async for doc in cursor]


async def first_by_owners(
    db: AsyncDatabase[MongoDoc],
    owner_ids: Sequence[uuid.UUID],
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    projection: dict[str, int],
) -> dict[uuid.UUID, tuple[int, list[MongoDoc]]]:
    """For each owner: (number of not deleted UMKMs, up to `limit` of them strictly after the
    keyset `after`, newest first), for many owners in one round trip.

    Memory is bounded by `limit` per owner on the client: the server keeps placeholders (null)
    for the rows before the cursor and slices the rest. `$firstN`/`$topN` (MongoDB 5.2) would
    bound the server side too, but the test stand-in (mongo-java-server 1.47) lacks them, as it
    lacks `$$REMOVE` and `$setWindowFields`; `$push` + `$filter` + `$slice` work on both.
    """
    if not owner_ids:
        return {}
    keep: Any = "$$ROOT"
    if after is not None:
        created, last_id = after
        # The after_filter keyset as an aggregation expression (same BSON ordering).
        newer = {
            "$or": [
                {"$lt": ["$created_at", created]},
                {"$and": [{"$eq": ["$created_at", created]}, {"$lt": ["$_id", last_id]}]},
            ]
        }
        keep = {"$cond": [newer, "$$ROOT", None]}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"owner_id": {"$in": list(owner_ids)}, "is_deleted": False}},
        # The `owner` index (owner_id, created_at -1, _id -1) serves this order.
        {"$sort": {"owner_id": 1, "created_at": -1, "_id": -1}},
        {"$project": {**projection, "owner_id": 1, "created_at": 1}},
        {"$group": {"_id": "$owner_id", "total": {"$sum": 1}, "docs": {"$push": keep}}},
        {
            "$project": {
                "total": 1,
                "docs": {
                    "$slice": [
                        {"$filter": {"input": "$docs", "as": "d", "cond": {"$ne": ["$$d", None]}}},
                        limit,
                    ]
                },
            }
        },
    ]
    cursor = await db[COLLECTION].aggregate(pipeline)
    found: dict[uuid.UUID, tuple[int, list[MongoDoc]]] = {}
    async for group in cursor:
        docs = list(group["docs"])
        # $push keeps the $sort order; sorting the few kept rows again costs nothing.
        docs.sort(key=lambda d: (d["created_at"], d["_id"].bytes), reverse=True)
        found[group["_id"]] = (int(group["total"]), docs)
    return found


async def backfill_kota_lower(db: AsyncDatabase[MongoDoc], batch: int = 500) -> int:
    """Sets kota_lower on documents written before it existed; returns how many. Idempotent
    (only documents without the field are read), in batches of `batch`. Each update is guarded
    by the kota it was computed from and by the field still missing, so a concurrent write of
    a new kota (which sets kota_lower itself) is never overwritten; `version` is not bumped
    since no compare-and-set depends on a derived field."""
    done = 0
    missing = {"kota_lower": {"$exists": False}}
    while True:
        cursor = db[COLLECTION].find(missing, {"wilayah.kota": 1}).limit(batch)
        docs = [doc async for doc in cursor]
        if not docs:
            return done
        updates = []
        for doc in docs:
            kota = (doc.get("wilayah") or {}).get("kota")
            updates.append(
                UpdateOne(
                    {"_id": doc["_id"], "wilayah.kota": kota, **missing},
                    {"$set": {"kota_lower": kota_key(kota)}},
                )
            )
        result = await db[COLLECTION].bulk_write(updates, ordered=False)
        done += result.modified_count
        if result.modified_count == 0:
            return done  # every one raced with a writer: those set the field themselves


async def compare_and_set(
    db: AsyncDatabase[MongoDoc],
    before: MongoDoc,
    changes: dict[str, Any],
    *,
    now: datetime | None = None,
) -> MongoDoc | None:
    """Applies $set `changes` (dotted paths) only if nobody wrote the document since `before`
    was read; returns the document as written, or None when another write came first.

    Every write goes through here, so `before` is exactly the state the change replaced (the
    aggregate hook relies on that) and two concurrent decisions cannot both succeed.
    """
    update = {
        "$set": {**derived(changes), "updated_at": now or datetime.now(UTC)},
        "$inc": {"version": 1},
    }
    return await db[COLLECTION].find_one_and_update(
        {"_id": before["_id"], "version": before.get("version")},
        update,
        return_document=ReturnDocument.AFTER,
    )


async def heat_cells(
    db: AsyncDatabase[MongoDoc], query: dict[str, Any], precision: int
) -> list[MongoDoc]:
    """[{_id: cell, count}] for located documents matching query."""
    pipeline: list[dict[str, Any]] = [
        {"$match": combine(query, {"geohash": {"$ne": None}})},
        {"$group": {"_id": {"$substr": ["$geohash", 0, precision]}, "count": {"$sum": 1}}},
    ]
    cursor = await db[COLLECTION].aggregate(pipeline)
    return [doc async for doc in cursor]


async def city_groups(db: AsyncDatabase[MongoDoc], query: dict[str, Any]) -> list[MongoDoc]:
    """[{_id: {kota, provinsi}, count, lat, lng}]; lat/lng average the located documents only
    ($avg skips the missing coordinates of unlocated ones)."""
    pipeline: list[dict[str, Any]] = [
        {"$match": combine(query, {"wilayah.kota": {"$ne": None}})},
        {
            "$group": {
                "_id": {"kota": "$wilayah.kota", "provinsi": "$wilayah.provinsi"},
                "count": {"$sum": 1},
                "lat": {"$avg": {"$arrayElemAt": ["$lokasi.coordinates", 1]}},
                "lng": {"$avg": {"$arrayElemAt": ["$lokasi.coordinates", 0]}},
            }
        },
    ]
    cursor = await db[COLLECTION].aggregate(pipeline)
    return [doc async for doc in cursor]


async def detach_owner(db: AsyncDatabase[MongoDoc], owner_id: uuid.UUID) -> int:
    """A deleted account's UMKMs stay, owner-less (owner_id null); returns how many.

    Bumps `version` like every write here, so a concurrent owner edit read before the delete
    loses its compare-and-set instead of writing on behalf of a removed account. Aggregates do
    not depend on the owner, so no aggregate hook is needed.
    """
    result = await db[COLLECTION].update_many(
        {"owner_id": owner_id},
        {"$set": {"owner_id": None, "updated_at": datetime.now(UTC)}, "$inc": {"version": 1}},
    )
    return result.modified_count
