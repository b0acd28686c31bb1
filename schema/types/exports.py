"""Exports (issue 18): the job type, its inputs and enums, a job built from its document, and
the exported rows, each built from the same object GraphQL would show the exporting viewer.

Columns follow the permission table exactly as the GraphQL fields do: a registry row is read off
`umkm_from_doc(doc, viewer)` (NIK masked for PEJABAT, private parts only where FIELD_ACCESS
grants them), a revenue row off `log_from_row`, so a file never shows what the same viewer
could not read through the API. The column layouts are documented in the README ("Exports").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import Enum

import strawberry

from db.drivers.cassandra import Row
from db.drivers.mongo import MongoDoc
from schema.types.common import PageInfo, UserError
from schema.types.enums import VerificationStatus
from schema.types.financial import log_from_row
from schema.types.pagination import keyset_cursor
from schema.types.umkm import UMKM
from sigma_graphql.core.download_tokens import sign
from sigma_graphql.core.settings import Settings
from sigma_graphql.core.sheet_writers import Cell, CellKind, Column
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.permissions import can_read

INT, B, D, F = CellKind.INT, CellKind.BOOL, CellKind.TIME, CellKind.FLOAT


@strawberry.enum(description="What an export holds.")
class ExportKind(Enum):
    UMKM_REGISTRY = "UMKM_REGISTRY"
    MONTHLY_REVENUE = "MONTHLY_REVENUE"
    SECTOR_STATS = "SECTOR_STATS"
    REGION_STATS = "REGION_STATS"


@strawberry.enum
class ExportFormat(Enum):
    CSV = "CSV"
    XLSX = "XLSX"


@strawberry.enum(description="CSV field separator (Excel in an Indonesian locale expects ;).")
class CsvDelimiter(Enum):
    COMMA = ","
    SEMICOLON = ";"


@strawberry.enum
class ExportStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.input(
    description="The filters of the GraphQL lists. UMKM_REGISTRY: sektor, kota, provinsi, "
    "status, includeDeleted. MONTHLY_REVENUE: those and tahunFrom..tahunTo. SECTOR_STATS: "
    "sektor and the years; REGION_STATS: kota and the years (aggregates count VERIFIED, not "
    "deleted UMKMs only). Years default to 2000..this year."
)
class ExportFilter:
    sektor: str | None = None
    kota: str | None = None
    provinsi: str | None = None
    status: VerificationStatus | None = None
    tahun_from: int | None = None
    tahun_to: int | None = None
    include_deleted: bool | None = strawberry.field(default=False, description="ADMIN only.")


@strawberry.input
class StartExportInput:
    kind: ExportKind
    format: ExportFormat = ExportFormat.CSV
    csv_delimiter: CsvDelimiter = CsvDelimiter.COMMA
    filter: ExportFilter | None = None


@strawberry.type(
    description="A background export. Only its creator sees it; it and its file are deleted "
    "after the retention period (expiresAt)."
)
class ExportJob:
    id: strawberry.ID
    kind: ExportKind
    format: ExportFormat
    status: ExportStatus
    progress: float = strawberry.field(description="0..1")
    row_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime
    download_url: str | None = strawberry.field(
        description="SUCCEEDED only: a signed link that expires, valid only with the creator's "
        "session (Authorization: Bearer or the session cookie)."
    )
    error: str | None = strawberry.field(description="FAILED only: why.")


@strawberry.type
class ExportJobEdge:
    cursor: str
    node: ExportJob


@strawberry.type
class ExportJobConnection:
    edges: list[ExportJobEdge]
    nodes: list[ExportJob]
    page_info: PageInfo


@strawberry.type
class ExportJobPayload:
    job: ExportJob | None
    user_errors: list[UserError]


# ------------------------------------------------------------------ jobs from documents


def download_url(settings: Settings, job_id: uuid.UUID, owner_id: uuid.UUID) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/exports/{sign(settings.secret_key, job_id, owner_id)}"


def job_from_doc(doc: MongoDoc, settings: Settings) -> ExportJob:
    """The job as its creator sees it (nobody else ever does)."""
    status = ExportStatus(doc["status"])
    return ExportJob(
        id=strawberry.ID(str(doc["_id"])),
        kind=ExportKind(doc["kind"]),
        format=ExportFormat(doc["format"]),
        status=status,
        progress=float(doc.get("progress") or 0.0),
        row_count=int(doc.get("row_count") or 0),
        created_at=doc["created_at"],
        started_at=doc.get("started_at"),
        finished_at=doc.get("finished_at"),
        expires_at=doc["expires_at"],
        download_url=download_url(settings, doc["_id"], doc["owner_id"])
        if status is ExportStatus.SUCCEEDED
        else None,
        error=doc.get("error") if status is ExportStatus.FAILED else None,
    )


def job_cursor(doc: MongoDoc) -> str:
    return keyset_cursor(doc["created_at"], doc["_id"])


# ------------------------------------------------------------------ exported rows

UMKM_COLUMNS: tuple[Column, ...] = (
    Column("id"),
    Column("namaUsaha"),
    Column("sektor"),
    Column("statusVerifikasi"),
    Column("kota"),
    Column("provinsi"),
    Column("alamatLengkap"),
    Column("latitude", F),
    Column("longitude", F),
    Column("tanggalBergabung", D),
    Column("nib"),
    Column("pirt"),
    Column("halal", B),
    Column("dokumenUrl"),
    Column("tanggalVerifikasi", D),
    Column("rejectionReason"),
    Column("verifiedById"),
    Column("ownerId"),
    Column("pemilikNama"),
    Column("pemilikNik"),
    Column("pemilikTelepon"),
    Column("pemilikEmail"),
    Column("isDeleted", B),
    Column("deletedAt", D),
    Column("summaryTahun", INT),
    Column("summaryBulan", INT),
    Column("summaryOmzet", INT),
)

# The re-import layout (README, "Exports"): the first five columns are the monthly report as
# submitFinancialLog takes it; the rest name the UMKM for people reading the sheet.
REVENUE_COLUMNS: tuple[Column, ...] = (
    Column("umkmId"),
    Column("tahun", INT),
    Column("bulan", INT),
    Column("omzet", INT),
    Column("jumlahKaryawan", INT),
    Column("catatan"),
    Column("isFlagged", B),
    Column("namaUsaha"),
    Column("sektor"),
    Column("kota"),
    Column("provinsi"),
)

SECTOR_COLUMNS: tuple[Column, ...] = (
    Column("sektor"),
    Column("tahun", INT),
    Column("bulan", INT),
    Column("totalOmzet", INT),
    Column("jumlahUmkm", INT),
)
REGION_COLUMNS: tuple[Column, ...] = (
    Column("kota"),
    Column("tahun", INT),
    Column("bulan", INT),
    Column("totalOmzet", INT),
    Column("jumlahUmkm", INT),
)

COLUMNS: dict[ExportKind, tuple[Column, ...]] = {
    ExportKind.UMKM_REGISTRY: UMKM_COLUMNS,
    ExportKind.MONTHLY_REVENUE: REVENUE_COLUMNS,
    ExportKind.SECTOR_STATS: SECTOR_COLUMNS,
    ExportKind.REGION_STATS: REGION_COLUMNS,
}


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def umkm_row(u: UMKM, viewer: Viewer) -> list[Cell]:
    """UMKM_COLUMNS of an UMKM built by umkm_from_doc for `viewer` (values it may not read are
    null there, and so empty here)."""
    owns = viewer.owns(u.owner_id)
    owner = u.owner_id if can_read(viewer, "UMKM.owner", owns=owns) else None
    p, s, legal = u.pemilik, u.summary_terakhir, u.legalitas
    return [
        str(u.id),
        u.nama_usaha,
        u.sektor,
        legal.status_verifikasi.value,
        u.wilayah.kota,
        u.wilayah.provinsi,
        u.wilayah.alamat_lengkap,
        u.lokasi.latitude if u.lokasi else None,
        u.lokasi.longitude if u.lokasi else None,
        u.tanggal_bergabung,
        legal.nib,
        legal.pirt,
        legal.halal,
        legal.dokumen_url,
        legal.tanggal_verifikasi,
        legal.rejection_reason,
        _str(legal.verified_by_id),
        _str(owner),
        p.nama if p else None,
        p.nik if p else None,
        p.telepon if p else None,
        p.email if p else None,
        u.is_deleted,
        u.deleted_at,
        s.tahun if s else None,
        s.bulan if s else None,
        int(s.omzet) if s else None,
    ]


def revenue_rows(rows: Sequence[Row], umkm: UMKM, viewer: Viewer) -> list[list[Cell]]:
    """REVENUE_COLUMNS of one UMKM's log rows, oldest month first; none when the viewer may
    not read its financialLogs."""
    out: list[list[Cell]] = []
    if not can_read(viewer, "UMKM.financialLogs", owns=viewer.owns(umkm.owner_id)):
        return out
    umkm_id, wilayah = str(umkm.id), umkm.wilayah
    about = [umkm.nama_usaha, umkm.sektor, wilayah.kota, wilayah.provinsi]  # the same every row
    for row in sorted(rows, key=lambda r: (r["tahun"], r["bulan"])):
        log = log_from_row(row)
        out.append(
            [
                umkm_id,
                log.tahun,
                log.bulan,
                int(log.omzet),
                log.jumlah_karyawan,
                log.catatan,
                log.is_flagged,
                *about,
            ]
        )
    return out
