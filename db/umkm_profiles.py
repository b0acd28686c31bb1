"""Repository of the `umkm_profiles` collection.

Document shape (one type for every id: BSON UUID, standard representation):
{_id, owner_id, nama_usaha, nama_lower, sektor, tanggal_bergabung, created_at, updated_at,
 pemilik: {nama, nik, telepon, email},
 lokasi: {type: "Point", coordinates: [lng, lat]} | None, geohash: str | None,
 wilayah: {kota, provinsi, alamat_lengkap},
 legalitas: {nib, pirt, halal, dokumen_url, status_verifikasi, verified_by, tanggal_verifikasi,
             rejection_reason},
 is_deleted, deleted_at, summary_terakhir: {tahun, bulan, omzet} | None}
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from db import geohash
from db.mongo import MongoDoc

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
        "legalitas": legal,
        "is_deleted": False,
        "deleted_at": None,
        "summary_terakhir": None,
    }


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


async def detach_owner(db: AsyncDatabase[MongoDoc], owner_id: uuid.UUID) -> int:
    """A deleted account's UMKMs stay, owner-less (owner_id null); returns how many."""
    result = await db[COLLECTION].update_many(
        {"owner_id": owner_id}, {"$set": {"owner_id": None, "updated_at": datetime.now(UTC)}}
    )
    return result.modified_count
