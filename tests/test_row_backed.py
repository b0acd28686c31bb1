"""Row-backed objects (schema/types/row_backed.py, issue 16): a FinancialLog or an UMKM built
from its row reads each column when the field is read, converts it as the eager constructors
did, and shows a viewer only what the permission table grants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from loaders.financial import Page
from schema.build import build_schema
from schema.types.enums import AccountStatus, Role, VerificationStatus
from schema.types.financial import FinancialLog, log_from_row, logs_from_rows, page_connection
from schema.types.row_backed import Nested, row_columns
from schema.types.umkm import UMKM, umkm_from_doc, umkms_from_docs
from schema.types.users import User, user_from_doc
from sigma_graphql.core.settings import Settings
from sigma_graphql.core.viewer import Audience, Viewer
from sigma_graphql.execution.fast_execution import row_access
from sigma_graphql.permissions import can_read, can_read_owned

UMKM_ID = uuid.uuid4()
OWNER_ID = uuid.uuid4()
STAFF_ID = uuid.uuid4()


class UntouchableRow(dict[str, Any]):
    """A row that fails any read: building from it must not read it."""

    def __getitem__(self, key: str) -> Any:
        raise AssertionError(f"read {key}")

    def get(self, key: str, default: Any = None) -> Any:
        raise AssertionError(f"read {key}")


def _log_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "umkm_id": UMKM_ID,
        "tahun": 2026,
        "bulan": 3,
        "omzet": 25_000_000,
        "jumlah_karyawan": 4,
        "catatan": "ramai",
        "tanggal_input": datetime(2026, 4, 2, 9, 30),  # the driver's naive UTC
        "is_flagged": True,
        "flag_reason": "lonjakan",
        "flagged_by_name": "Bu Sari",
        "flagged_at": datetime(2026, 4, 5, 10, 0),
        "input_by": OWNER_ID,
        "flagged_by": STAFF_ID,
    }
    row.update(changes)
    return row


def test_a_log_converts_each_column_when_it_is_read() -> None:
    log = log_from_row(_log_row())
    assert isinstance(log, FinancialLog)
    assert log.umkm_id == str(UMKM_ID)
    assert (log.tahun, log.bulan, log.omzet, log.jumlah_karyawan) == (2026, 3, 25_000_000, 4)
    assert (log.catatan, log.is_flagged, log.flag_reason, log.flagged_by_name) == (
        "ramai",
        True,
        "lonjakan",
        "Bu Sari",
    )
    assert log.tanggal_input == datetime(2026, 4, 2, 9, 30, tzinfo=UTC)
    assert log.flagged_at == datetime(2026, 4, 5, 10, 0, tzinfo=UTC)
    assert (log.umkm_uuid, log.input_by_id, log.flagged_by_id) == (UMKM_ID, OWNER_ID, STAFF_ID)


def test_a_sparse_log_row_reads_as_defaults() -> None:
    row = {"umkm_id": UMKM_ID, "tahun": 2026, "bulan": 1, "omzet": None}
    log = log_from_row(row)
    assert log.umkm_id == str(UMKM_ID)
    assert (log.omzet, log.jumlah_karyawan, log.is_flagged) == (0, 0, False)
    assert (log.catatan, log.flag_reason, log.flagged_at, log.input_by_id) == (None,) * 4
    assert log.tanggal_input == datetime.min


def test_building_a_page_of_logs_reads_no_column() -> None:
    logs = logs_from_rows([UntouchableRow(), UntouchableRow()])
    assert len(logs) == 2
    with pytest.raises(AssertionError, match="read omzet"):
        _ = logs[0].omzet


def test_row_backed_fields_are_read_only() -> None:
    log = log_from_row(_log_row())
    with pytest.raises(AttributeError, match="read from its row"):
        log.omzet = 1  # type: ignore[assignment]
    assert log.omzet == 25_000_000


def _umkm_doc() -> dict[str, Any]:
    return {
        "_id": UMKM_ID,
        "owner_id": OWNER_ID,
        "nama_usaha": "Keripik Bu Sari",
        "sektor": "Kuliner",
        "tanggal_bergabung": datetime(2025, 1, 2, tzinfo=UTC),
        "wilayah": {"kota": "Malang", "provinsi": "Jawa Timur", "alamat_lengkap": "Jl. Ijen 1"},
        "lokasi": {"type": "Point", "coordinates": [112.63, -7.98]},
        "legalitas": {
            "nib": "1234",
            "status_verifikasi": "VERIFIED",
            "dokumen_url": "https://example.org/nib.pdf",
            "rejection_reason": None,
            "verified_by": STAFF_ID,
        },
        "pemilik": {"nama": "Sari", "nik": "3507123456789012", "telepon": "0812", "email": None},
        "summary_terakhir": {"tahun": 2026, "bulan": 3, "omzet": 25_000_000},
    }


def test_an_umkm_shows_the_public_only_its_public_fields() -> None:
    umkm = umkm_from_doc(_umkm_doc(), Viewer())
    assert isinstance(umkm, UMKM)
    assert (umkm.id, umkm.nama_usaha, umkm.sektor) == (str(UMKM_ID), "Keripik Bu Sari", "Kuliner")
    assert (umkm.wilayah.kota, umkm.wilayah.alamat_lengkap) == ("Malang", None)
    assert umkm.lokasi is not None
    assert (umkm.lokasi.latitude, umkm.lokasi.longitude) == (-7.98, 112.63)
    assert umkm.legalitas.status_verifikasi is VerificationStatus.VERIFIED
    assert (umkm.legalitas.nib, umkm.legalitas.dokumen_url) == ("1234", None)
    assert umkm.legalitas.verified_by_id is None
    assert (umkm.pemilik, umkm.summary_terakhir, umkm.private_visible) == (None, None, False)
    assert (umkm.umkm_id, umkm.owner_id, umkm.is_deleted) == (UMKM_ID, OWNER_ID, False)


def test_an_umkm_shows_its_owner_everything_and_an_official_a_masked_nik() -> None:
    owner = umkm_from_doc(_umkm_doc(), Viewer(Audience.UMKM_OWNER, OWNER_ID))
    assert owner.private_visible
    assert owner.wilayah.alamat_lengkap == "Jl. Ijen 1"
    assert owner.legalitas.dokumen_url == "https://example.org/nib.pdf"
    assert owner.pemilik is not None and owner.pemilik.nik == "3507123456789012"
    assert owner.summary_terakhir is not None and owner.summary_terakhir.omzet == 25_000_000

    official = umkm_from_doc(_umkm_doc(), Viewer(Audience.PEJABAT, STAFF_ID))
    assert official.pemilik is not None and official.pemilik.nik == "3507********9012"
    assert official.legalitas.verified_by_id == STAFF_ID

    other_owner = umkm_from_doc(_umkm_doc(), Viewer(Audience.UMKM_OWNER, uuid.uuid4()))
    assert (other_owner.pemilik, other_owner.summary_terakhir) == (None, None)


def test_building_an_umkm_reads_only_its_owner() -> None:
    class OnlyTheOwner(UntouchableRow):
        def get(self, key: str, default: Any = None) -> Any:
            if key == "owner_id":
                return OWNER_ID
            raise AssertionError(f"read {key}")

    umkm = umkm_from_doc(OnlyTheOwner(), Viewer())
    assert umkm.prefetched_owner is None and umkm.prefetched_logs is None
    umkm.prefetched_owner = (None,)  # list resolvers attach what they prefetched
    assert umkm.prefetched_owner == (None,)
    with pytest.raises(AssertionError, match="read wilayah"):
        _ = umkm.wilayah


def _user_doc() -> dict[str, Any]:
    return {
        "_id": OWNER_ID,
        "email": "sari@example.org",
        "nama": "Sari",
        "role": "UMKM_OWNER",
        "account_status": "ACTIVE",
        "nik": "3507123456789012",
        "telepon": "0812",
        "created_at": datetime(2025, 1, 2, tzinfo=UTC),
    }


def test_an_account_shows_each_viewer_what_the_permission_table_grants() -> None:
    self_view = user_from_doc(_user_doc(), Viewer(Audience.UMKM_OWNER, OWNER_ID))
    assert isinstance(self_view, User)
    assert (self_view.id, self_view.nama, self_view.user_id) == (str(OWNER_ID), "Sari", OWNER_ID)
    assert (self_view.role, self_view.account_status) == (Role.UMKM_OWNER, AccountStatus.ACTIVE)
    assert (self_view.email, self_view.nik, self_view.telepon) == (
        "sari@example.org",
        "3507123456789012",
        "0812",
    )
    assert self_view.umkms_visible

    official = user_from_doc(_user_doc(), Viewer(Audience.PEJABAT, STAFF_ID))
    assert (official.email, official.nik, official.telepon) == (None, "3507********9012", "0812")
    assert official.umkms_visible

    other = user_from_doc(_user_doc(), Viewer(Audience.UMKM_OWNER, uuid.uuid4()))
    assert (other.email, other.nik, other.telepon, other.umkms_visible) == (None,) * 3 + (False,)
    assert other.nama == "Sari"


def test_building_an_account_reads_only_its_id() -> None:
    class OnlyTheId(UntouchableRow):
        def __getitem__(self, key: str) -> Any:
            if key == "_id":
                return OWNER_ID
            raise AssertionError(f"read {key}")

    user = user_from_doc(OnlyTheId(), Viewer(Audience.ADMIN, STAFF_ID))
    with pytest.raises(AssertionError, match="read nama"):
        _ = user.nama


@pytest.mark.parametrize("audience", [Audience.PUBLIC, Audience.UMKM_OWNER, Audience.PEJABAT])
def test_what_the_inline_plans_read_directly_is_what_the_fields_answer(audience: Audience) -> None:
    # The served schema's plans read these classes' rows through row_columns, skipping the
    # descriptors (sigma_graphql/execution/plan_compiler.py, RowAccess): both must agree.
    viewer = Viewer(audience, OWNER_ID if audience is Audience.UMKM_OWNER else STAFF_ID)
    umkm = umkm_from_doc(_umkm_doc(), viewer)
    objects = {
        "FinancialLog": log_from_row(_log_row()),
        "UMKM": umkm,
        "Legalitas": umkm.legalitas,
        "Wilayah": umkm.wilayah,
        "GeoPoint": umkm.lokasi,
        "User": user_from_doc(_user_doc(), viewer),
        "FinancialLogConnection": page_connection(Page([_log_row()], has_next=False), True),
    }
    type_map = build_schema(Settings()).schema_converter.type_map
    for name, obj in objects.items():
        access = row_access(type_map[name].implementation)  # type: ignore[arg-type]
        assert access is not None and access.cls is type(obj), name
        for attr, column in access.columns.items():
            if isinstance(column, str):
                direct = obj.row[column]  # type: ignore[attr-defined]
            elif isinstance(column, tuple):  # the code a plan writes, run on this row
                expression, key, table = column
                code = expression.format(row="obj.row", key="key", table="table")
                direct = eval(code, {"obj": obj, "key": key, "table": table})
            elif isinstance(column, Nested):  # a sub-row's object, built as the field builds it
                direct = column.read(obj)
            else:
                direct = column(obj)
            answered = getattr(obj, attr)
            same = direct == answered if not hasattr(direct, "row") else direct.row == answered.row
            assert same, f"{name}.{attr}"


@pytest.mark.parametrize("audience", list(Audience))
def test_a_page_of_umkms_grants_what_each_umkm_alone_grants(audience: Audience) -> None:
    viewer = Viewer(audience, OWNER_ID if audience is not Audience.PUBLIC else None)
    mine, other = _umkm_doc(), _umkm_doc() | {"_id": uuid.uuid4(), "owner_id": uuid.uuid4()}
    page = umkms_from_docs([mine, other], viewer)
    alone = [umkm_from_doc(mine, viewer), umkm_from_doc(other, viewer)]
    assert [u.may for u in page] == [u.may for u in alone]  # type: ignore[attr-defined]
    assert [u.pemilik for u in page] == [u.pemilik for u in alone]


def test_an_unknown_enum_value_is_refused_by_the_enum_as_before() -> None:
    doc = _umkm_doc()
    doc["legalitas"] = {**doc["legalitas"], "status_verifikasi": "HILANG"}
    umkm = umkm_from_doc(doc, Viewer())
    with pytest.raises(ValueError, match="HILANG"):
        _ = umkm.legalitas.status_verifikasi
    # The inline plans run the same expression (row_columns), and refuse it the same way.
    column = row_columns(type(umkm.legalitas))["status_verifikasi"]
    assert isinstance(column, tuple)
    expression, key, table = column
    code = expression.format(row="row", key="key", table="table")
    with pytest.raises(ValueError, match="HILANG"):
        eval(code, {"row": doc["legalitas"], "key": key, "table": table})
    assert umkm_from_doc(_umkm_doc(), Viewer()).legalitas.status_verifikasi is (
        VerificationStatus.VERIFIED
    )


@pytest.mark.parametrize("audience", list(Audience))
def test_a_page_decides_owned_fields_as_each_umkm_alone(audience: Audience) -> None:
    viewer = Viewer(audience, OWNER_ID if audience is not Audience.PUBLIC else None)
    owners = [OWNER_ID, uuid.uuid4(), None]
    for field in ("UMKM.owner", "UMKM.financialLogs", "UMKM.pemilik"):
        alone = [can_read(viewer, field, owns=viewer.owns(o)) for o in owners]
        assert can_read_owned(viewer, field, owners) == alone, field
