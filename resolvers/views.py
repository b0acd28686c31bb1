"""Builds GraphQL objects from documents for one viewer, applying the permission table once.

Every restricted value is decided here (FIELD_ACCESS in sigma_graphql/permissions.py), so the
types' leaves stay plain attributes and resolve to null for viewers without access.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import strawberry

from db.drivers.mongo import MongoDoc
from loaders.users import user_by_id
from schema.types.enums import AccountStatus, Role, VerificationStatus
from schema.types.scalars import Rupiah
from schema.types.umkm import UMKM, FinancialSummary, GeoPoint, Legalitas, Pemilik, Wilayah
from schema.types.users import User
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.permissions import can_read, read_nik

if TYPE_CHECKING:
    from sigma_graphql.request.context import Context


def user_from_doc(doc: MongoDoc, viewer: Viewer) -> User:
    user_id: uuid.UUID = doc["_id"]
    is_self = viewer.is_self(user_id)
    return User(
        id=strawberry.ID(str(user_id)),
        email=doc.get("email") if can_read(viewer, "User.email", is_self=is_self) else None,
        nama=doc["nama"],
        role=Role(doc["role"]),
        account_status=AccountStatus(doc["account_status"]),
        nik=read_nik(viewer, "User.nik", doc.get("nik"), is_self=is_self),
        telepon=doc.get("telepon") if can_read(viewer, "User.telepon", is_self=is_self) else None,
        wilayah=doc.get("wilayah"),
        created_at=doc["created_at"],
        user_id=user_id,
        umkms_visible=can_read(viewer, "User.umkms", is_self=is_self),
    )


def umkm_from_doc(doc: MongoDoc, viewer: Viewer) -> UMKM:
    """The UMKM as `viewer` may see it. The caller has applied the row rule already."""
    umkm_id: uuid.UUID = doc["_id"]
    owner_id: uuid.UUID | None = doc.get("owner_id")
    owns = viewer.owns(owner_id)
    private = can_read(viewer, "UMKM.pemilik", owns=owns)
    wil = doc["wilayah"]
    legal: dict[str, Any] = doc["legalitas"]
    lokasi = doc.get("lokasi")
    pemilik = doc.get("pemilik") or {}
    summary = doc.get("summary_terakhir")
    return UMKM(
        id=strawberry.ID(str(umkm_id)),
        nama_usaha=doc["nama_usaha"],
        sektor=doc["sektor"],
        tanggal_bergabung=doc["tanggal_bergabung"],
        wilayah=Wilayah(
            kota=wil["kota"],
            provinsi=wil["provinsi"],
            alamat_lengkap=wil.get("alamat_lengkap")
            if can_read(viewer, "Wilayah.alamatLengkap", owns=owns)
            else None,
        ),
        lokasi=GeoPoint(latitude=lokasi["coordinates"][1], longitude=lokasi["coordinates"][0])
        if lokasi
        else None,
        legalitas=Legalitas(
            nib=legal.get("nib"),
            pirt=legal.get("pirt"),
            halal=legal.get("halal"),
            dokumen_url=legal.get("dokumen_url")
            if can_read(viewer, "Legalitas.dokumenUrl", owns=owns)
            else None,
            status_verifikasi=VerificationStatus(legal["status_verifikasi"]),
            tanggal_verifikasi=legal.get("tanggal_verifikasi"),
            rejection_reason=legal.get("rejection_reason")
            if can_read(viewer, "Legalitas.rejectionReason", owns=owns)
            else None,
            verified_by_id=legal.get("verified_by")
            if can_read(viewer, "Legalitas.verifiedBy", owns=owns)
            else None,
        ),
        pemilik=Pemilik(
            nama=pemilik.get("nama", ""),
            nik=read_nik(viewer, "Pemilik.nik", pemilik.get("nik"), owns=owns),
            telepon=pemilik.get("telepon", ""),
            email=pemilik.get("email"),
        )
        if private
        else None,
        is_deleted=bool(doc.get("is_deleted")),
        deleted_at=doc.get("deleted_at"),
        summary_terakhir=FinancialSummary(
            tahun=summary["tahun"], bulan=summary["bulan"], omzet=Rupiah(summary["omzet"])
        )
        if summary and can_read(viewer, "UMKM.summaryTerakhir", owns=owns)
        else None,
        umkm_id=umkm_id,
        owner_id=owner_id,
        private_visible=private,
    )


async def load_user(ctx: Context, user_id: uuid.UUID | None) -> User | None:
    """The user with that id as ctx.viewer may see it, through the request's loader (batched)."""
    if user_id is None:
        return None
    doc = await ctx.loaders.get(user_by_id).load(user_id)
    return user_from_doc(doc, ctx.viewer) if doc else None
