"""The whole UMKM lifecycle over HTTP, the verification queue and concurrent decisions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from db import verification_tasks as vt
from db.drivers.handles import Databases
from tests.support import Api, Factory
from tests.umkm_support import CREATE, GET, LIST, UPDATE, insert_umkm, valid_input

TASKS = """
query($status: VerificationStatus, $first: Int, $after: String) {
  verificationTasks(status: $status, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status createdAt namaUsaha ownerEmail decidedAt reason
            umkm { id namaUsaha } decidedBy { id nama } } }
  }
}
"""
APPROVE = """mutation($id: ID!, $note: String) { approveUmkm(id: $id, note: $note) {
  umkm { id legalitas { statusVerifikasi verifiedBy { id } tanggalVerifikasi } }
  userErrors { field message code } } }"""
REJECT = """mutation($id: ID!, $reason: String!) { rejectUmkm(id: $id, reason: $reason) {
  umkm { id legalitas { statusVerifikasi rejectionReason } }
  userErrors { field message code } } }"""
RESUBMIT = """mutation($id: ID!) { resubmitUmkm(id: $id) {
  umkm { id legalitas { statusVerifikasi } } userErrors { field message code } } }"""
DELETE = """mutation($id: ID!) { deleteUmkm(id: $id) {
  umkm { id isDeleted deletedAt } userErrors { field message code } } }"""
RESTORE = """mutation($id: ID!) { restoreUmkm(id: $id) {
  umkm { id isDeleted deletedAt } userErrors { field message code } } }"""


async def _tasks(api: Api, token: str, status: str, **extra: Any) -> list[dict[str, Any]]:
    """Every task of a status (walking all pages)."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        data = (
            await api.as_(token)(TASKS, {"status": status, "first": 50, "after": after, **extra})
        ).ok()["verificationTasks"]
        found.extend(e["node"] for e in data["edges"])
        if not data["pageInfo"]["hasNextPage"]:
            return found
        after = data["pageInfo"]["endCursor"]


def _for(tasks: list[dict[str, Any]], umkm_id: str) -> list[dict[str, Any]]:
    return [t for t in tasks if t["umkm"] and t["umkm"]["id"] == umkm_id]


async def _notifications(dbs: Databases, owner_id: uuid.UUID, umkm_id: str) -> list[str]:
    rows = await dbs.cassandra.execute(
        "SELECT type, umkm_id, title, message FROM flag_notifications WHERE owner_id = ?",
        (owner_id,),
    )
    return [r["type"] for r in rows if str(r["umkm_id"]) == umkm_id]


async def test_full_lifecycle(api: Api, factory: Factory, dbs: Databases) -> None:
    owner = await factory.account("UMKM_OWNER")
    pejabat = await factory.account("PEJABAT", nama="Pak Verifikator")
    admin = await factory.account("ADMIN")
    as_owner, as_pejabat, as_admin, public = (
        api.as_(owner.token),
        api.as_(pejabat.token),
        api.as_(admin.token),
        api.as_(None),
    )

    # create -> PENDING, owned by the caller, a task in the queue
    created = (await as_owner(CREATE, {"input": valid_input()})).ok()["createUmkm"]
    assert created["userErrors"] == []
    umkm = created["umkm"]
    uid = umkm["id"]
    assert umkm["legalitas"]["statusVerifikasi"] == "PENDING"
    assert umkm["owner"]["id"] == owner.gid
    assert umkm["sektor"] == "Kuliner" and umkm["wilayah"]["provinsi"] == "Jawa Timur"
    assert (await public(GET, {"id": uid})).ok()["umkm"] is None
    pending = _for(await _tasks(api, pejabat.token, "PENDING"), uid)
    assert len(pending) == 1
    assert pending[0]["status"] == "PENDING" and pending[0]["namaUsaha"] == umkm["namaUsaha"]
    assert pending[0]["ownerEmail"] == owner.doc["email"]

    # reject: the reason is checked, then recorded; the task moves; the owner is notified
    short = (await as_pejabat(REJECT, {"id": uid, "reason": "kurang"})).ok()["rejectUmkm"]
    assert [e["code"] for e in short["userErrors"]] == ["TOO_SHORT"]
    assert short["userErrors"][0]["field"] == ["reason"]
    too_long = (await as_pejabat(REJECT, {"id": uid, "reason": "x" * 501})).ok()["rejectUmkm"]
    assert [e["code"] for e in too_long["userErrors"]] == ["TOO_LONG"]
    reason = "Dokumen NIB tidak terbaca, unggah ulang"
    rejected = (await as_pejabat(REJECT, {"id": uid, "reason": reason})).ok()["rejectUmkm"]
    assert rejected["userErrors"] == []
    assert rejected["umkm"]["legalitas"] == {
        "statusVerifikasi": "REJECTED",
        "rejectionReason": reason,
    }
    assert _for(await _tasks(api, pejabat.token, "PENDING"), uid) == []
    done = _for(await _tasks(api, pejabat.token, "REJECTED"), uid)
    assert len(done) == 1 and done[0]["reason"] == reason and done[0]["decidedAt"]
    assert done[0]["decidedBy"] == {"id": pejabat.gid, "nama": "Pak Verifikator"}
    assert await _notifications(dbs, owner.id, uid) == ["UMKM_REJECTED"]
    mine = (await as_owner(GET, {"id": uid})).ok()["umkm"]
    assert mine["legalitas"]["rejectionReason"] == reason

    # a decision needs PENDING
    again = (await as_pejabat(APPROVE, {"id": uid})).ok()["approveUmkm"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_STATE"]

    # resubmit -> PENDING with a new task; only the owner may
    other = await factory.account("UMKM_OWNER")
    forbidden = await api.as_(other.token)(RESUBMIT, {"id": uid})
    assert forbidden.error_codes == ["FORBIDDEN"]
    resubmitted = (await as_owner(RESUBMIT, {"id": uid})).ok()["resubmitUmkm"]
    assert resubmitted["umkm"]["legalitas"]["statusVerifikasi"] == "PENDING"
    assert len(_for(await _tasks(api, pejabat.token, "PENDING"), uid)) == 1
    twice = (await as_owner(RESUBMIT, {"id": uid})).ok()["resubmitUmkm"]
    assert [e["code"] for e in twice["userErrors"]] == ["INVALID_STATE"]

    # approve -> VERIFIED, visible publicly, owner notified
    approved = (await as_pejabat(APPROVE, {"id": uid, "note": "Lengkap"})).ok()["approveUmkm"]
    assert approved["userErrors"] == []
    legal = approved["umkm"]["legalitas"]
    assert legal["statusVerifikasi"] == "VERIFIED" and legal["verifiedBy"] == {"id": pejabat.gid}
    assert legal["tanggalVerifikasi"]
    seen = (await public(GET, {"id": uid})).ok()["umkm"]
    assert seen["id"] == uid and seen["pemilik"] is None and seen["owner"] is None
    listed = (await public(LIST, {"filter": {"search": umkm["namaUsaha"]}})).ok()["umkms"]
    assert [e["node"]["id"] for e in listed["edges"]] == [uid]
    assert sorted(await _notifications(dbs, owner.id, uid)) == ["UMKM_REJECTED", "UMKM_VERIFIED"]
    verified_tasks = _for(await _tasks(api, pejabat.token, "VERIFIED"), uid)
    assert len(verified_tasks) == 1 and verified_tasks[0]["reason"] == "Lengkap"

    # the owner edits the sector of the VERIFIED UMKM -> PENDING again, new task, hidden
    edited = (await as_owner(UPDATE, {"id": uid, "input": {"sektor": "jasa"}})).ok()["updateUmkm"]
    assert edited["userErrors"] == []
    assert edited["umkm"]["sektor"] == "Jasa"
    assert edited["umkm"]["legalitas"]["statusVerifikasi"] == "PENDING"
    assert edited["umkm"]["legalitas"]["nib"] == "9120001234567"
    assert (await public(GET, {"id": uid})).ok()["umkm"] is None
    assert len(_for(await _tasks(api, pejabat.token, "PENDING"), uid)) == 1
    (await as_pejabat(APPROVE, {"id": uid})).ok()

    # soft delete -> gone for public and owner lists; ADMIN sees it with includeDeleted
    assert (await api.as_(other.token)(DELETE, {"id": uid})).error_codes == ["FORBIDDEN"]
    deleted = (await as_owner(DELETE, {"id": uid})).ok()["deleteUmkm"]
    assert deleted["umkm"]["isDeleted"] is True and deleted["umkm"]["deletedAt"]
    assert (await public(GET, {"id": uid})).ok()["umkm"] is None
    assert (await as_owner(GET, {"id": uid})).ok()["umkm"] is None
    assert (await as_pejabat(GET, {"id": uid})).ok()["umkm"] is None
    own = (await as_owner(LIST, {"first": 100})).ok()["umkms"]
    assert uid not in [e["node"]["id"] for e in own["edges"]]
    search = {"search": umkm["namaUsaha"]}
    hidden = (await as_admin(LIST, {"filter": search})).ok()["umkms"]
    assert hidden["totalCount"] == 0
    shown = (await as_admin(LIST, {"filter": {**search, "includeDeleted": True}})).ok()["umkms"]
    assert [e["node"]["id"] for e in shown["edges"]] == [uid]
    not_admin = (await as_pejabat(LIST, {"filter": {**search, "includeDeleted": True}})).ok()
    assert not_admin["umkms"]["totalCount"] == 0
    assert (await as_owner(RESTORE, {"id": uid})).error_codes == ["FORBIDDEN"]

    # restore (ADMIN) -> back for everyone
    restored = (await as_admin(RESTORE, {"id": uid})).ok()["restoreUmkm"]
    assert restored["umkm"] == {"id": uid, "isDeleted": False, "deletedAt": None}
    assert (await public(GET, {"id": uid})).ok()["umkm"]["id"] == uid
    twice_restored = (await as_admin(RESTORE, {"id": uid})).ok()["restoreUmkm"]
    assert [e["code"] for e in twice_restored["userErrors"]] == ["INVALID_STATE"]


async def test_admin_creates_verified_for_an_owner(api: Api, factory: Factory) -> None:
    admin = await factory.account("ADMIN")
    owner = await factory.account("UMKM_OWNER")
    pejabat = await factory.account("PEJABAT")
    as_admin = api.as_(admin.token)
    made = (await as_admin(CREATE, {"input": valid_input(ownerId=owner.gid)})).ok()["createUmkm"]
    assert made["userErrors"] == []
    assert made["umkm"]["legalitas"]["statusVerifikasi"] == "VERIFIED"
    assert made["umkm"]["legalitas"]["verifiedBy"]["id"] == admin.gid
    assert made["umkm"]["owner"]["id"] == owner.gid
    for bad in (str(uuid.uuid4()), pejabat.gid, "not-a-uuid"):
        nope = (await as_admin(CREATE, {"input": valid_input(ownerId=bad)})).ok()["createUmkm"]
        assert nope["umkm"] is None
        assert [(e["field"], e["code"]) for e in nope["userErrors"]] == [
            (["input", "ownerId"], "NOT_FOUND")
        ]
    # an owner never creates for someone else
    mine = (await api.as_(owner.token)(CREATE, {"input": valid_input(ownerId=pejabat.gid)})).ok()[
        "createUmkm"
    ]
    assert mine["umkm"]["owner"]["id"] == owner.gid
    assert mine["umkm"]["legalitas"]["statusVerifikasi"] == "PENDING"
    assert (await api.as_(pejabat.token)(CREATE, {"input": valid_input()})).error_codes == [
        "FORBIDDEN"
    ]
    assert (await api.as_(None)(CREATE, {"input": valid_input()})).error_codes == [
        "UNAUTHENTICATED"
    ]


async def test_concurrent_approvals_decide_once(api: Api, factory: Factory, dbs: Databases) -> None:
    owner = await factory.account("UMKM_OWNER")
    first, second = await factory.account("PEJABAT"), await factory.account("ADMIN")
    for _ in range(3):
        uid = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"][
            "umkm"
        ]["id"]
        results = await asyncio.gather(
            api.as_(first.token)(APPROVE, {"id": uid}),
            api.as_(second.token)(APPROVE, {"id": uid}),
        )
        payloads = [r.ok()["approveUmkm"] for r in results]
        winners = [p for p in payloads if not p["userErrors"]]
        losers = [p for p in payloads if p["userErrors"]]
        assert len(winners) == 1 and len(losers) == 1
        assert [e["code"] for e in losers[0]["userErrors"]] == ["INVALID_STATE"]
        assert await _notifications(dbs, owner.id, uid) == ["UMKM_VERIFIED"]
        assert len(_for(await _tasks(api, first.token, "VERIFIED"), uid)) == 1
        assert _for(await _tasks(api, first.token, "PENDING"), uid) == []


async def test_concurrent_approve_and_reject(api: Api, factory: Factory, dbs: Databases) -> None:
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT")
    uid = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]["umkm"][
        "id"
    ]
    approve, reject = await asyncio.gather(
        api.as_(staff.token)(APPROVE, {"id": uid}),
        api.as_(staff.token)(REJECT, {"id": uid, "reason": "Alasan yang cukup panjang"}),
    )
    errors = approve.ok()["approveUmkm"]["userErrors"] + reject.ok()["rejectUmkm"]["userErrors"]
    assert [e["code"] for e in errors] == ["INVALID_STATE"]
    assert len(await _notifications(dbs, owner.id, uid)) == 1


async def test_decisions_need_staff_and_existing_pending(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT")
    assert (await api.as_(owner.token)(APPROVE, {"id": str(uuid.uuid4())})).error_codes == [
        "FORBIDDEN"
    ]
    assert (await api.as_(None)(TASKS, {})).error_codes == ["UNAUTHENTICATED"]
    assert (await api.as_(owner.token)(TASKS, {})).error_codes == ["FORBIDDEN"]
    missing = (await api.as_(staff.token)(APPROVE, {"id": str(uuid.uuid4())})).ok()
    assert [e["code"] for e in missing["approveUmkm"]["userErrors"]] == ["NOT_FOUND"]
    malformed = (await api.as_(staff.token)(APPROVE, {"id": "123"})).ok()
    assert [e["code"] for e in malformed["approveUmkm"]["userErrors"]] == ["NOT_FOUND"]
    # a PENDING UMKM without a task row (e.g. imported) can still be decided
    doc = await insert_umkm(dbs, owner_id=owner.id, status="PENDING")
    ok = (await api.as_(staff.token)(APPROVE, {"id": str(doc["_id"])})).ok()["approveUmkm"]
    assert ok["userErrors"] == [] and ok["umkm"]["legalitas"]["statusVerifikasi"] == "VERIFIED"


async def test_task_pagination_walks_newest_first(api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("ADMIN")
    ids = []
    for _ in range(7):
        made = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]
        ids.append(made["umkm"]["id"])
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        data = (
            await api.as_(staff.token)(TASKS, {"status": "PENDING", "first": 3, "after": after})
        ).ok()["verificationTasks"]
        seen.extend(e["node"] for e in data["edges"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    task_ids = [t["id"] for t in seen]
    assert len(task_ids) == len(set(task_ids))
    mine = [t["umkm"]["id"] for t in seen if t["umkm"] and t["umkm"]["id"] in ids]
    assert mine == ids[::-1]  # newest first
    created = [t["createdAt"] for t in seen]
    assert created == sorted(created, reverse=True)
    bad = await api.as_(staff.token)(TASKS, {"after": "garbage"})
    assert bad.error_codes == ["BAD_USER_INPUT"]
    assert (await api.as_(staff.token)(TASKS, {"first": 0})).error_codes == ["BAD_USER_INPUT"]


async def test_renaming_a_pending_umkm_renames_its_task(api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT")
    uid = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]["umkm"][
        "id"
    ]
    new_name = f"Nama Baru {uuid.uuid4().hex[:6]}"
    await api.as_(owner.token)(UPDATE, {"id": uid, "input": {"namaUsaha": new_name}})
    pending = _for(await _tasks(api, staff.token, "PENDING"), uid)
    assert [t["namaUsaha"] for t in pending] == [new_name]


async def test_task_queue_walks_month_partitions_backwards(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    staff = await factory.account("PEJABAT")
    pending: list[uuid.UUID] = []
    decided: list[uuid.UUID] = []
    for month in range(1, 13):
        for day in (3, 17):
            task_id = vt.new_task_id(datetime(2025, month, day, 9, tzinfo=UTC))
            await vt.create(
                dbs.cassandra,
                task_id=task_id,
                umkm_id=uuid.uuid4(),
                nama_usaha=f"Antrian {month}-{day}",
                owner_email=None,
            )
            # months 4..9 end up with no PENDING task left (empty partitions in the index)
            if 4 <= month <= 9:
                await vt.decide(
                    dbs.cassandra,
                    task_id,
                    status="VERIFIED",
                    decided_by=staff.id,
                    decided_at=datetime.now(UTC),
                    reason=None,
                )
                decided.append(task_id)
            else:
                pending.append(task_id)
    listed = [t["id"] for t in await _tasks(api, staff.token, "PENDING")]
    assert len(listed) == len(set(listed))
    ours = [i for i in listed if uuid.UUID(i) in set(pending)]
    assert ours == [str(i) for i in pending[::-1]]  # newest first, across months
    assert not set(listed) & {str(i) for i in decided}
    verified = {t["id"] for t in await _tasks(api, staff.token, "VERIFIED")}
    assert {str(i) for i in decided} <= verified
    # small pages walk the same sequence
    small: list[str] = []
    after = None
    while True:
        data = (
            await api.as_(staff.token)(TASKS, {"status": "PENDING", "first": 5, "after": after})
        ).ok()["verificationTasks"]
        small.extend(e["node"]["id"] for e in data["edges"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert small == listed
