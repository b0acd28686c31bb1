"""UMKM profiles (MongoDB), their nested types, inputs, payloads and verification tasks; an UMKM
built from its document for one viewer, UMKM pages, and the nested fields.

Restricted leaves are attributes that DocUMKM reads from the document (or leaves null) as the
viewer's grants from the permission table allow; only fields that fetch something are
resolvers, and they fetch through loaders/. Imports among users, umkm, financial and
umkm_prefetch: see schema/types/users.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.drivers.mongo import MongoDoc
from loaders.analytics import logs_by_umkm
from loaders.umkm import OwnerPage, umkm_by_id, umkms_by_owner
from schema.types import financial, umkm_prefetch, users
from schema.types.common import EMPTY_PAGE, PageInfo, UserError
from schema.types.enums import HealthStatus, VerificationStatus
from schema.types.growth import Forecast, ForecastPoint, GrowthAnalysis
from schema.types.pagination import (
    check_first,
    decode_keyset,
    keyset_cursor,
    page_info,
)
from schema.types.row_backed import RowField
from schema.types.scalars import Rupiah
from sigma_graphql.analytics import forecast as forecasting
from sigma_graphql.analytics import growth as quarters
from sigma_graphql.core import errors
from sigma_graphql.core.field_metadata import INLINE
from sigma_graphql.core.i18n import register, t
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.permissions import (
    UmkmGrants,
    can_read,
    can_see_umkm,
    masked_nik,
    per_owner,
    umkm_grants,
)
from sigma_graphql.request.context import Context, Info
from sigma_graphql.request.selection import selects

if TYPE_CHECKING:
    from db.drivers.cassandra import Row
    from schema.types.financial import FinancialLogConnection
    from schema.types.users import User

register(
    {
        "analytics_months": (
            "Jumlah bulan prakiraan harus antara 1 dan 12",
            "The number of forecast months must be between 1 and 12",
        ),
    }
)

# The GraphQL type of the user fields below (users.py imports this module).
LazyUser = Annotated["User", strawberry.lazy("schema.types.users")]


@strawberry.type
class GeoPoint:
    latitude: float
    longitude: float


@strawberry.type
class Wilayah:
    kota: str
    provinsi: str
    alamat_lengkap: str | None = strawberry.field(description="Staff and owner.")


@strawberry.type
class Pemilik:
    nama: str
    nik: str | None = strawberry.field(
        description="ADMIN and owner see all digits; PEJABAT masked (see User.nik)."
    )
    telepon: str
    email: str | None


@strawberry.type
class Legalitas:
    nib: str | None
    pirt: str | None
    halal: bool | None
    dokumen_url: str | None = strawberry.field(description="Staff and owner.")
    status_verifikasi: VerificationStatus
    tanggal_verifikasi: datetime | None
    rejection_reason: str | None = strawberry.field(description="Staff and owner.")
    verified_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Staff.")
    async def verified_by(self, info: Info) -> LazyUser | None:
        # umkm_from_doc leaves the id empty for viewers who may not see it.
        return await users.load_user(info.context, self.verified_by_id)


@strawberry.type
class FinancialSummary:
    tahun: int
    bulan: int
    omzet: Rupiah


@strawberry.type(
    description="A micro, small or medium enterprise. PUBLIC sees only VERIFIED, not deleted UMKMs."
)
class UMKM:
    id: strawberry.ID
    nama_usaha: str
    sektor: str
    tanggal_bergabung: datetime
    wilayah: Wilayah
    lokasi: GeoPoint | None
    legalitas: Legalitas
    pemilik: Pemilik | None = strawberry.field(description="Staff and owner; null otherwise.")
    is_deleted: bool
    deleted_at: datetime | None
    summary_terakhir: FinancialSummary | None = strawberry.field(
        description="Latest month on record (largest tahun, bulan), kept current on every write. "
        "Staff and owner."
    )
    umkm_id: strawberry.Private[uuid.UUID]
    owner_id: strawberry.Private[uuid.UUID | None]
    # Decided once when the object is built: may this viewer see owner/financial fields?
    private_visible: strawberry.Private[bool]
    # Filled by list resolvers that fetched these for the whole page
    # (schema/types/umkm_prefetch.py) so the fields below answer without a coroutine per item.
    # owner: a 1-tuple (None inside is "no owner"); logs: (financialLogs arguments,
    # FinancialLogConnection).
    prefetched_owner: strawberry.Private[tuple[User | None] | None] = None
    prefetched_logs: strawberry.Private[
        tuple[tuple[int | None, int | None, str | None], Any] | None
    ] = None

    # owner and financialLogs are sync resolvers that return either the prefetched value or an
    # awaitable (graphql-core awaits it): the GraphQL type is given explicitly.
    # INLINE: an inline plan may call these two (sigma_graphql/execution/fast_execution.py):
    # they read only self, their arguments and info.context, and answer synchronously when
    # the page was prefetched.
    @strawberry.field(
        description="Staff and owner.", graphql_type=LazyUser | None, metadata={INLINE: True}
    )
    def owner(self, info: Info) -> User | Awaitable[User | None] | None:
        return umkm_owner(info, self)

    @strawberry.field(
        description="Monthly logs, newest first; optionally one year. Staff and owner; empty "
        "otherwise.",
        graphql_type=Annotated["FinancialLogConnection", strawberry.lazy("schema.types.financial")],
        metadata={INLINE: True},
    )
    def financial_logs(
        self,
        info: Info,
        tahun: int | None = None,
        first: int | None = 24,
        after: str | None = None,
    ) -> FinancialLogConnection | Awaitable[FinancialLogConnection]:
        return financial.umkm_financial_logs(info, self, tahun, first, after)

    @strawberry.field(
        description="Quarterly growth, oldest first, for quarters with data. Staff and owner; "
        "empty otherwise."
    )
    async def growth(self, info: Info, tahun: int | None = None) -> list[GrowthAnalysis]:
        if not self.private_visible:
            return []
        rows = await info.context.loaders.get(logs_by_umkm).load(self.umkm_id)
        return [
            GrowthAnalysis(
                periode=q.periode,
                total_omzet=Rupiah(q.total_omzet),
                growth_rate=q.growth_rate,
                status_kesehatan=HealthStatus(q.status) if q.status else None,
                rekomendasi=q.rekomendasi,
            )
            for q in quarters.quarterly_growth(_months_of(rows), tahun)
        ]

    @strawberry.field(
        description="Revenue forecast for the next `months` calendar months (1..12). Staff and "
        "owner; null otherwise or with fewer than 3 months of data."
    )
    async def forecast(self, info: Info, months: int | None = 3) -> Forecast | None:
        ctx = info.context
        horizon = 3 if months is None else months
        if not 1 <= horizon <= 12:
            raise errors.bad_input(t("analytics_months"), argument="months")
        if not self.private_visible:
            return None
        rows = await ctx.loaders.get(logs_by_umkm).load(self.umkm_id)
        result = forecasting.forecast(_months_of(rows), horizon)
        if result is None:
            return None
        return Forecast(
            method=result.method,
            points=[
                ForecastPoint(
                    tahun=p.tahun,
                    bulan=p.bulan,
                    predicted_omzet=Rupiah(p.predicted),
                    lower=Rupiah(p.lower),
                    upper=Rupiah(p.upper),
                )
                for p in result.points
            ],
        )


@strawberry.type
class UMKMEdge:
    cursor: str
    node: UMKM


@strawberry.type
class UMKMConnection:
    edges: list[UMKMEdge]
    nodes: list[UMKM]
    page_info: PageInfo
    total_count: int


@strawberry.type
class NearbyUMKM:
    umkm: UMKM
    distance_km: float


@strawberry.type
class HeatCell:
    geohash: str
    latitude: float
    longitude: float
    count: int


@strawberry.type
class CityCluster:
    kota: str
    provinsi: str
    count: int
    latitude: float | None
    longitude: float | None


@strawberry.input
class BoundingBoxInput:
    south: float
    west: float
    north: float
    east: float


@strawberry.input
class UMKMFilter:
    status: VerificationStatus | None = strawberry.field(
        default=None,
        description="PUBLIC: ignored (always VERIFIED). UMKM_OWNER: applies to own UMKMs. "
        "Staff: applies to all.",
    )
    sektor: str | None = None
    kota: str | None = None
    provinsi: str | None = None
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of namaUsaha."
    )
    bbox: BoundingBoxInput | None = strawberry.field(
        default=None, description="Only UMKMs whose lokasi lies in this box."
    )
    include_deleted: bool | None = strawberry.field(
        default=False, description="ADMIN only: include soft-deleted UMKMs."
    )


@strawberry.input
class GeoPointInput:
    latitude: float
    longitude: float


@strawberry.input
class WilayahInput:
    kota: str
    provinsi: str
    alamat_lengkap: str | None = None


@strawberry.input
class PemilikInput:
    nama: str
    nik: str | None = None
    telepon: str
    email: str | None = None


@strawberry.input
class LegalitasInput:
    nib: str | None = strawberry.UNSET
    pirt: str | None = strawberry.UNSET
    halal: bool | None = strawberry.UNSET
    dokumen_url: str | None = strawberry.UNSET


@strawberry.input
class CreateUMKMInput:
    nama_usaha: str
    sektor: str
    wilayah: WilayahInput
    pemilik: PemilikInput
    lokasi: GeoPointInput | None = None
    legalitas: LegalitasInput | None = None
    owner_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="ADMIN only: the owning UMKM_OWNER account; owners always own what they "
        "create.",
    )


@strawberry.input
class WilayahPatch:
    kota: str | None = strawberry.UNSET
    provinsi: str | None = strawberry.UNSET
    alamat_lengkap: str | None = strawberry.UNSET


@strawberry.input
class PemilikPatch:
    nama: str | None = strawberry.UNSET
    nik: str | None = strawberry.UNSET
    telepon: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET


@strawberry.input(
    description="Partial update: only fields given change; nested inputs merge field by field."
)
class UpdateUMKMInput:
    nama_usaha: str | None = strawberry.UNSET
    sektor: str | None = strawberry.UNSET
    wilayah: WilayahPatch | None = strawberry.UNSET
    lokasi: GeoPointInput | None = strawberry.UNSET
    pemilik: PemilikPatch | None = strawberry.UNSET
    legalitas: LegalitasInput | None = strawberry.UNSET


@strawberry.type
class UMKMPayload:
    umkm: UMKM | None
    user_errors: list[UserError]


@strawberry.type(
    description="A UMKM waiting for (or having received) a verification decision. Staff only."
)
class VerificationTask:
    id: strawberry.ID
    status: VerificationStatus
    created_at: datetime
    nama_usaha: str
    owner_email: str | None
    decided_at: datetime | None
    reason: str | None
    umkm_id: strawberry.Private[uuid.UUID]
    decided_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def umkm(self, info: Info) -> UMKM | None:
        return await load_umkm(info.context, self.umkm_id)

    @strawberry.field
    async def decided_by(self, info: Info) -> LazyUser | None:
        return await users.load_user(info.context, self.decided_by_id)


@strawberry.type
class VerificationTaskEdge:
    cursor: str
    node: VerificationTask


@strawberry.type
class VerificationTaskConnection:
    edges: list[VerificationTaskEdge]
    nodes: list[VerificationTask]
    page_info: PageInfo


# ------------------------------------------------------------------ built from documents


def umkm_from_doc(doc: MongoDoc, viewer: Viewer) -> UMKM:
    """The UMKM as `viewer` may see it. The caller has applied the row rule already."""
    return DocUMKM(doc, umkm_grants(viewer, owns=viewer.owns(doc.get("owner_id"))))


def umkms_from_docs(docs: list[MongoDoc], viewer: Viewer) -> list[UMKM]:
    """umkm_from_doc for a page of documents, the grants decided per owner (per_owner)."""
    owners = [d.get("owner_id") for d in docs]
    grants = per_owner(viewer, owners, lambda owns: umkm_grants(viewer, owns=owns))
    return [DocUMKM(d, g) for d, g in zip(docs, grants, strict=True)]


class DocWilayah(Wilayah):
    """An UMKM's wilayah read from its document's sub-document, as the UMKM's `may` allows."""

    __slots__ = ("may", "row")

    kota = RowField[str]("kota")
    provinsi = RowField[str]("provinsi")
    alamat_lengkap = RowField(
        read=lambda w: w.row.get("alamat_lengkap") if w.may.alamat_lengkap else None
    )

    def __init__(self, wilayah: dict[str, Any], umkm: DocUMKM) -> None:
        self.row = wilayah
        self.may = umkm.may


class DocGeoPoint(GeoPoint):
    """An UMKM's lokasi read from its GeoJSON point (coordinates are [longitude, latitude])."""

    __slots__ = ("row",)

    latitude = RowField[float]("coordinates", expression="latitude")
    longitude = RowField[float]("coordinates", expression="longitude")

    def __init__(self, point: dict[str, Any], _umkm: DocUMKM) -> None:
        self.row = point


class DocLegalitas(Legalitas):
    """An UMKM's legalitas read from its document's sub-document, as `may` allows."""

    __slots__ = ("may", "row")

    nib = RowField.optional("nib")
    pirt = RowField.optional("pirt")
    halal = RowField.optional("halal")
    dokumen_url = RowField(
        read=lambda lg: lg.row.get("dokumen_url") if lg.may.dokumen_url else None
    )
    status_verifikasi = RowField.member(VerificationStatus, "status_verifikasi")
    tanggal_verifikasi = RowField.optional("tanggal_verifikasi")
    rejection_reason = RowField(
        read=lambda lg: lg.row.get("rejection_reason") if lg.may.rejection_reason else None,
    )
    verified_by_id = RowField(
        read=lambda lg: lg.row.get("verified_by") if lg.may.verified_by else None
    )

    def __init__(self, legalitas: dict[str, Any], umkm: DocUMKM) -> None:
        self.row = legalitas
        self.may = umkm.may


def _pemilik(u: DocUMKM) -> Pemilik | None:
    if not u.may.pemilik:
        return None
    found = u.row.get("pemilik") or {}
    return Pemilik(
        nama=found.get("nama", ""),
        nik=masked_nik(u.may.nik, found.get("nik")),
        telepon=found.get("telepon", ""),
        email=found.get("email"),
    )


def _summary(u: DocUMKM) -> FinancialSummary | None:
    summary = u.row.get("summary_terakhir")
    if not summary or not u.may.summary_terakhir:
        return None
    return FinancialSummary(
        tahun=summary["tahun"], bulan=summary["bulan"], omzet=Rupiah(summary["omzet"])
    )


class DocUMKM(UMKM):
    """An UMKM that reads its document's fields when they are asked for
    (schema/types/row_backed.py), as `may` (what its viewer may read of it) allows: a page of
    100 UMKMs builds no nested object its document does not select."""

    __slots__ = ("may", "prefetched_logs", "prefetched_owner", "row")

    id = RowField.text("_id")
    nama_usaha = RowField[str]("nama_usaha")
    sektor = RowField[str]("sektor")
    tanggal_bergabung = RowField[datetime]("tanggal_bergabung")
    wilayah = RowField.nested_row(DocWilayah, "wilayah")
    lokasi = RowField.nested_row(DocGeoPoint, "lokasi", optional=True)
    legalitas = RowField.nested_row(DocLegalitas, "legalitas")
    pemilik = RowField(read=_pemilik)
    is_deleted = RowField.flag("is_deleted")
    deleted_at = RowField.optional("deleted_at")
    summary_terakhir = RowField(read=_summary)
    umkm_id = RowField[uuid.UUID]("_id")
    owner_id = RowField.optional("owner_id")
    private_visible = RowField(read=lambda u: u.may.pemilik)

    def __init__(self, doc: MongoDoc, may: UmkmGrants) -> None:  # no super(): nothing to copy
        self.row = doc
        self.may = may
        self.prefetched_owner = None
        self.prefetched_logs = None


async def load_umkm(ctx: Context, umkm_id: uuid.UUID | None) -> UMKM | None:
    """The UMKM with that id if ctx.viewer may see it, through the request's loader (batched)."""
    if umkm_id is None:
        return None
    doc = await ctx.loaders.get(umkm_by_id).load(umkm_id)
    if doc is None or not can_see_umkm(ctx.viewer, doc):
        return None
    return umkm_from_doc(doc, ctx.viewer)


# ------------------------------------------------------------------ pages of UMKMs


def umkm_cursor(doc: MongoDoc) -> str:
    """Keyset of umkm_profiles.find_page: created_at, then id."""
    return keyset_cursor(doc["created_at"], doc["_id"])


def umkm_connection(
    docs: list[MongoDoc],
    first: int,
    total: int,
    has_previous: bool,
    viewer: Viewer,
    with_edges: bool = True,
) -> UMKMConnection:
    """One page of `docs` (fetched with one extra to tell whether there is a next page)."""
    page = docs[:first]
    nodes = umkms_from_docs(page, viewer)
    # A cursor per edge only when edges are asked for; pageInfo needs just the first and last.
    edges = (
        [UMKMEdge(cursor=umkm_cursor(d), node=n) for d, n in zip(page, nodes, strict=True)]
        if with_edges
        else []
    )
    return UMKMConnection(
        edges=edges,
        nodes=nodes,
        page_info=page_info(
            page, umkm_cursor, has_next=len(docs) > first, has_previous=has_previous
        ),
        total_count=total,
    )


# ------------------------------------------------------------------ nested fields


def umkm_owner(info: Info, umkm: UMKM) -> User | Awaitable[User | None] | None:
    """Synchronous when no fetch is needed (hidden, no owner, or prefetched for the page)."""
    prefetched = umkm.prefetched_owner
    if prefetched is not None:
        # The page's prefetch (umkm_prefetch._owners) sets it only for an owner this viewer may
        # read, by the rule below: nothing left to decide (a staff page has 100 of them).
        return prefetched[0]
    ctx = info.context
    if umkm.owner_id is None:
        return None
    if not can_read(ctx.viewer, "UMKM.owner", owns=ctx.viewer.owns(umkm.owner_id)):
        return None
    return users.load_user(ctx, umkm.owner_id)


async def user_umkms(
    info: Info, user: User, first: int | None, after: str | None
) -> UMKMConnection:
    """User.umkms: the user's not deleted UMKMs, newest first."""
    ctx = info.context
    n = check_first(first)
    key = decode_keyset(after)
    if not user.umkms_visible:
        return UMKMConnection(edges=[], nodes=[], page_info=EMPTY_PAGE, total_count=0)
    total, docs = await ctx.loaders.get(umkms_by_owner).load(OwnerPage(user.user_id, n + 1, key))
    conn = umkm_connection(docs, n, total, key is not None, ctx.viewer, selects(info, "edges"))
    await umkm_prefetch.prefetch(info, conn.nodes)
    return conn


def _months_of(rows: list[Row]) -> list[tuple[int, int, int]]:
    return [(r["tahun"], r["bulan"], r["omzet"] or 0) for r in rows]
