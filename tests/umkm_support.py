"""Shared pieces of the UMKM tests: queries, a valid input, direct row inserts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from db import umkm_profiles
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc

UMKM_FIELDS = """
  id namaUsaha sektor tanggalBergabung isDeleted deletedAt
  wilayah { kota provinsi alamatLengkap }
  lokasi { latitude longitude }
  legalitas { nib pirt halal dokumenUrl statusVerifikasi tanggalVerifikasi rejectionReason
              verifiedBy { id nama } }
  pemilik { nama nik telepon email }
  owner { id nama }
"""

CREATE = (
    "mutation($input: CreateUMKMInput!) { createUmkm(input: $input) { umkm { "
    + UMKM_FIELDS
    + " } userErrors { field message code } } }"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateUMKMInput!) { updateUmkm(id: $id, input: $input) { umkm { "
    + UMKM_FIELDS
    + " } userErrors { field message code } } }"
)
GET = "query($id: ID!) { umkm(id: $id) { " + UMKM_FIELDS + " } }"
LIST = (
    "query($filter: UMKMFilter, $first: Int, $after: String) { umkms(filter: $filter, "
    "first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage "
    "endCursor } edges { cursor node { id namaUsaha } } } }"
)


def valid_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "namaUsaha": f"Warung Uji {uuid.uuid4().hex[:6]}",
        "sektor": "kuliner",
        "wilayah": {"kota": "Malang", "provinsi": "jawa timur", "alamatLengkap": "Jl. Ijen 1"},
        "lokasi": {"latitude": -7.97, "longitude": 112.62},
        "pemilik": {
            "nama": "Ibu Sari",
            "nik": "3573010101900009",
            "telepon": "081234567890",
            "email": "sari@contoh.id",
        },
        "legalitas": {
            "nib": "9120001234567",
            "halal": True,
            "dokumenUrl": "https://dokumen.contoh.id/nib.pdf",
        },
    }
    data.update(overrides)
    return data


_BASE_TIME = datetime(2025, 6, 1, tzinfo=UTC)


async def insert_umkm(
    dbs: Databases,
    *,
    owner_id: uuid.UUID | None = None,
    nama: str | None = None,
    status: str = "VERIFIED",
    sektor: str = "Kuliner",
    kota: str = "Malang",
    provinsi: str = "Jawa Timur",
    latitude: float | None = None,
    longitude: float | None = None,
    deleted: bool = False,
    verified_by: uuid.UUID | None = None,
    created_at: datetime | None = None,
) -> MongoDoc:
    doc = umkm_profiles.new_umkm_doc(
        nama_usaha=nama or f"Usaha {uuid.uuid4().hex[:8]}",
        sektor=sektor,
        kota=kota,
        provinsi=provinsi,
        pemilik={"nama": "Pemilik", "nik": "3573010101010001", "telepon": "081234567890"},
        owner_id=owner_id,
        status=status,
        alamat_lengkap="Jl. Rahasia 2",
        latitude=latitude,
        longitude=longitude,
        legalitas={"dokumen_url": "https://dokumen.contoh.id/x.pdf"},
        created_at=created_at or _BASE_TIME + timedelta(seconds=uuid.uuid4().int % 10**6),
        verified_by=verified_by,
    )
    doc["is_deleted"] = deleted
    await umkm_profiles.insert(dbs.mongo, doc)
    return doc
