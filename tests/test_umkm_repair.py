"""Crash recovery of the two-database verification writes, and validation properties."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from db import umkm_profiles, verification_tasks
from db.drivers.handles import Databases
from db.maintenance.verification_repair import repair_verification
from db.writes import financial as financial_writes
from db.writes import umkm_counts
from db.writes.crash import CRASH_ENV
from resolvers.rules.umkm import validate_create
from schema.types.umkm import CreateUMKMInput, GeoPointInput, PemilikInput, WilayahInput
from tests.fin_support import actual_state, assert_exact
from tests.healing_support import rounds_pass, until_closed, until_healed
from tests.support import Api, Factory, LiveServer
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


REJECT = """mutation($id: ID!, $reason: String!) { rejectUmkm(id: $id, reason: $reason) {
  userErrors { code } } }"""


def _crash(dbs: Databases, *args: object) -> int:
    """An UMKM mutation in its own process, killed right after its MongoDB write."""
    env = {
        **os.environ,
        "SIGMA_ENV": "test",
        "SIGMA_MONGO_URI": dbs.settings.mongo_uri,
        "SIGMA_MONGO_DB": dbs.settings.mongo_db,
        "SIGMA_CASSANDRA_KEYSPACE": dbs.settings.cassandra_keyspace,
        "SIGMA_CASSANDRA_CONTACT_POINTS": ",".join(dbs.settings.cassandra_contact_points),
        "SIGMA_CASSANDRA_PORT": str(dbs.settings.cassandra_port),
        CRASH_ENV: "after_profile_write",
    }
    argv = [sys.executable, "-m", "tests.fin_crash_writer", *map(str, args)]
    root = Path(__file__).resolve().parent.parent
    return subprocess.run(argv, env=env, cwd=root, capture_output=True, timeout=300).returncode


async def test_killed_umkm_writes_heal_without_the_repair_command(
    api: Api, factory: Factory, dbs: Databases, healer: LiveServer
) -> None:
    """An approval and a resubmission, each killed right after MongoDB: the reconciler of a
    running API process finishes the task, the months and the counts without
    `repair-verification` or `rebuild-aggregates`."""
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    tag = uuid.uuid4().hex[:8]
    sektor, kota = f"S{tag}", f"K{tag}"
    coll = dbs.mongo[umkm_profiles.COLLECTION]
    # 1. PENDING with two reported months (not counted while PENDING); the approval dies.
    made = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]
    first = uuid.UUID(made["umkm"]["id"])
    # Names of its own, so the cells compared below hold this UMKM only (PENDING: not counted).
    await coll.update_one({"_id": first}, {"$set": {"sektor": sektor, "wilayah.kota": kota}})
    doc = await umkm_profiles.find_by_id(dbs.mongo, first)
    assert doc is not None
    for bulan, omzet in ((5, 700), (6, 900)):
        await financial_writes.submit(
            dbs, doc, tahun=2022, bulan=bulan, omzet=omzet, jumlah_karyawan=1, catatan=None, by=None
        )
    # 2. REJECTED; the resubmission (a new PENDING task) dies.
    other = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]
    second = uuid.UUID(other["umkm"]["id"])
    reason = {"id": str(second), "reason": "Dokumen NIB tidak terbaca"}
    assert (await api.as_(staff.token)(REJECT, reason)).ok()["rejectUmkm"]["userErrors"] == []

    fault = time.monotonic()
    assert await asyncio.to_thread(_crash, dbs, "approve", first, staff.id) == 1
    assert await asyncio.to_thread(_crash, dbs, "resubmit", second, owner.id) == 1
    approved = await umkm_profiles.find_by_id(dbs.mongo, first)
    resubmitted = await umkm_profiles.find_by_id(dbs.mongo, second)
    assert approved is not None and resubmitted is not None
    assert approved["legalitas"]["status_verifikasi"] == "VERIFIED"  # MongoDB was written
    assert resubmitted["legalitas"]["status_verifikasi"] == "PENDING"
    new_task = resubmitted["verification_task_id"]

    async def healed() -> None:
        task = await verification_tasks.find(dbs.cassandra, approved["verification_task_id"])
        assert task is not None and task.status == "VERIFIED"
        again = await verification_tasks.find(dbs.cassandra, new_task)
        assert again is not None and again.status == "PENDING"
        await assert_exact(dbs, [first], [sektor], [kota], [2022])
        docs = [approved, resubmitted]
        recorded = await umkm_counts.counted_rows(dbs.cassandra, [first, second])
        assert recorded == {d["_id"]: umkm_counts.counted_of(d) for d in docs}
        have = await umkm_counts.read(dbs.cassandra, umkm_counts.SCOPES)
        assert (have["sektor"].get(sektor), have["kota"].get(kota)) == (1, 1)
        for status in ("PENDING", "VERIFIED", "REJECTED"):
            live = {"is_deleted": {"$ne": True}, "legalitas.status_verifikasi": status}
            assert have["status"].get(status, 0) == await coll.count_documents(live)

    took = await until_healed(healed, fault)
    print(f"\nhealed {took:.1f} s after two UMKM writes killed after MongoDB")
    have = await actual_state(dbs, [first], [sektor], [kota], [2022])
    assert have.sector == {(sektor, 2022, 5): (700, 1), (sektor, 2022, 6): (900, 1)}
    assert await _task_of(api, staff.token, "PENDING", str(second)) != []
    await until_closed(healer, dbs, first)
    await until_closed(healer, dbs, second)
    await rounds_pass(healer, 3)
    await healed()  # nothing counted twice by the rounds that followed


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
    data, errors = validate_create(_input(telepon, nik, nama))
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
