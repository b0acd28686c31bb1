"""UMKM profiles (MongoDB), their nested types, inputs, payloads and verification tasks.

Restricted leaves are plain attributes filled (or left null) by the resolver that builds the
object, from the permission table; only fields that fetch something are resolvers here, and they
delegate to resolvers/ and loaders/.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from schema.types.common import PageInfo, UserError
from schema.types.enums import VerificationStatus
from schema.types.scalars import Rupiah
from schema.types.users import User

if TYPE_CHECKING:
    from schema.types.analytics import Forecast, GrowthAnalysis
    from schema.types.financial import FinancialLogConnection


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
    async def verified_by(self, info: Info) -> User | None:
        from resolvers.umkm import legalitas_verified_by

        return await legalitas_verified_by(info, self)


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
    # Filled by list resolvers that fetched these for the whole page (resolvers/umkm_prefetch.py)
    # so the fields below answer without a coroutine per item. owner: a 1-tuple (None inside is
    # "no owner"); logs: (financialLogs arguments, FinancialLogConnection).
    prefetched_owner: strawberry.Private[tuple[User | None] | None] = None
    prefetched_logs: strawberry.Private[
        tuple[tuple[int | None, int | None, str | None], Any] | None
    ] = None

    # owner and financialLogs are sync resolvers that return either the prefetched value or an
    # awaitable (graphql-core awaits it): the GraphQL type is given explicitly.
    @strawberry.field(description="Staff and owner.", graphql_type=User | None)
    def owner(self, info: Info) -> User | Awaitable[User | None] | None:
        from resolvers.umkm import umkm_owner

        return umkm_owner(info, self)

    @strawberry.field(
        description="Monthly logs, newest first; optionally one year. Staff and owner; empty "
        "otherwise.",
        graphql_type=Annotated["FinancialLogConnection", strawberry.lazy("schema.types.financial")],
    )
    def financial_logs(
        self,
        info: Info,
        tahun: int | None = None,
        first: int | None = 24,
        after: str | None = None,
    ) -> FinancialLogConnection | Awaitable[FinancialLogConnection]:
        from resolvers.financial import umkm_financial_logs

        return umkm_financial_logs(info, self, tahun, first, after)

    @strawberry.field(
        description="Quarterly growth, oldest first, for quarters with data. Staff and owner; "
        "empty otherwise."
    )
    async def growth(
        self, info: Info, tahun: int | None = None
    ) -> list[Annotated[GrowthAnalysis, strawberry.lazy("schema.types.analytics")]]:
        from resolvers.analytics import umkm_growth

        return await umkm_growth(info, self, tahun)

    @strawberry.field(
        description="Revenue forecast for the next `months` calendar months (1..12). Staff and "
        "owner; null otherwise or with fewer than 3 months of data."
    )
    async def forecast(
        self, info: Info, months: int | None = 3
    ) -> Annotated[Forecast, strawberry.lazy("schema.types.analytics")] | None:
        from resolvers.analytics import umkm_forecast

        return await umkm_forecast(info, self, months)


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
        from resolvers.verification import task_umkm

        return await task_umkm(info, self)

    @strawberry.field
    async def decided_by(self, info: Info) -> User | None:
        from resolvers.verification import task_decided_by

        return await task_decided_by(info, self)


@strawberry.type
class VerificationTaskEdge:
    cursor: str
    node: VerificationTask


@strawberry.type
class VerificationTaskConnection:
    edges: list[VerificationTaskEdge]
    nodes: list[VerificationTask]
    page_info: PageInfo
