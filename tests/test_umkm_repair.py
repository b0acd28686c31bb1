"""Crash recovery of the two-database verification writes, and validation properties."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from db import umkm_profiles, verification_tasks
from db.handles import Databases
from db.verification_repair import repair_verification
from schema.umkm import CreateUMKMInput, GeoPointInput, PemilikInput, WilayahInput
from sigma_graphql.umkm_validation import validate_create
from tests.support import Api, Factory
from tests.umkm_support import CREATE, insert_umkm, valid_input

TASKS = """query($status: VerificationStatus) { verificationTasks(status: $status, first: 100) {
  nodes { id status reason umkm { id } decidedBy { id } } } }"""


async def _task_of(api: Api, token: str, status: str, umkm_id: str) -> list[dict[str, Any]]:
    nodes = (await api.as_(token)(TASKS, {"status": status})).ok()["verificationTasks"]["nodes"]
    return [n for n in nodes if n["umkm"] and n["umkm"]["id"] == umkm_id]


async def test_repair_finishes_what_a_crash_left(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    # 1. Mongo written, the process died before the task: the id is known, the row is not.
    lost_id = verification_tasks.new_task_id(datetime.now(UTC))
    no_row = await insert_umkm(dbs, owner_id=owner.id, status="PENDING")
    await dbs.mongo[umkm_profiles.COLLECTION].update_one(
        {"_id": no_row["_id"]}, {"$set": {"verification_task_id": lost_id}}
    )
    # 2. Imported PENDING data without any task.
    imported = await insert_umkm(dbs, owner_id=owner.id, status="PENDING")
    # 3. A rejection written to Mongo, the process died before the task moved.
    made = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]
    half = made["umkm"]["id"]
    await dbs.mongo[umkm_profiles.COLLECTION].update_one(
        {"_id": uuid.UUID(half)},
        {
            "$set": {
                "legalitas.status_verifikasi": "REJECTED",
                "legalitas.verified_by": staff.id,
                "legalitas.tanggal_verifikasi": datetime.now(UTC),
                "legalitas.rejection_reason": "Foto usaha tidak jelas sama sekali",
            },
            "$inc": {"version": 1},
        },
    )
    assert len(await _task_of(api, staff.token, "PENDING", half)) == 1

    report = await repair_verification(dbs)
    assert report.tasks_created >= 2 and report.tasks_assigned >= 1
    assert report.decisions_finished >= 1
    first = await _task_of(api, staff.token, "PENDING", str(no_row["_id"]))
    assert [t["id"] for t in first] == [str(lost_id)]
    assert len(await _task_of(api, staff.token, "PENDING", str(imported["_id"]))) == 1
    assert await _task_of(api, staff.token, "PENDING", half) == []
    rejected = await _task_of(api, staff.token, "REJECTED", half)
    assert [(t["reason"], t["decidedBy"]) for t in rejected] == [
        ("Foto usaha tidak jelas sama sekali", {"id": staff.gid})
    ]
    # idempotent: a second run changes nothing
    again = await repair_verification(dbs)
    assert (again.tasks_created, again.tasks_assigned, again.decisions_finished) == (0, 0, 0)


def _input(telepon: str, nik: str | None, nama: str) -> CreateUMKMInput:
    return CreateUMKMInput(
        nama_usaha=nama,
        sektor="Jasa",
        wilayah=WilayahInput(kota="Malang", provinsi="Jawa Timur"),
        pemilik=PemilikInput(nama="Pemilik", nik=nik, telepon=telepon),
        lokasi=GeoPointInput(latitude=-7.9, longitude=112.6),
    )


def _fields(errors: list[Any]) -> set[str]:
    return {"/".join(e.field) for e in errors}


@given(
    telepon=st.one_of(
        st.from_regex(r"\A(0|\+62)8[0-9]{6,15}\Z"), st.text(max_size=20), st.just("0812345678")
    ),
    nik=st.one_of(
        st.none(),
        st.from_regex(r"\A[0-9]{14,18}\Z"),
        st.text(alphabet="0123456789\u0661\u0662\u0663", min_size=16, max_size=16),
        st.text(max_size=18),
    ),
    nama=st.text(max_size=110),
)
def test_validation_accepts_exactly_the_documented_formats(
    telepon: str, nik: str | None, nama: str
) -> None:
    data, errors = validate_create(_input(telepon, nik, nama), "id")
    fields = _fields(errors)
    tel = telepon.strip()
    tel_ok = (
        bool(re.fullmatch(r"(0|\+62)8[0-9]+", tel))
        and 10 <= len("0" + tel.removeprefix("+62").removeprefix("0")) <= 15
    )
    assert ("input/pemilik/telepon" not in fields) == tel_ok
    nik_ok = not (nik or "").strip() or bool(re.fullmatch(r"[0-9]{16}", (nik or "").strip()))
    assert ("input/pemilik/nik" not in fields) == nik_ok
    control = re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", nama.strip())
    nama_ok = 3 <= len(nama.strip()) <= 100 and control is None
    assert ("input/namaUsaha" not in fields) == nama_ok
    assert (data is not None) == (not errors)
