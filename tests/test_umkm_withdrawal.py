"""Soft-deleting a PENDING UMKM takes its task out of the PENDING queue; restoring puts it back;
`repair-verification` finishes whatever a crash left in between."""

from __future__ import annotations

import uuid
from typing import Any

from db import umkm_profiles
from db import verification_tasks as vt
from db.drivers.handles import Databases
from db.maintenance.verification_repair import repair_verification
from tests.support import Api, Factory
from tests.umkm_support import CREATE, valid_input

TASKS = """query($status: VerificationStatus, $first: Int, $after: String) {
  verificationTasks(status: $status, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id status reason umkm { id } decidedBy { id } } } }"""
DELETE = """mutation($id: ID!) { deleteUmkm(id: $id) {
  umkm { id isDeleted } userErrors { code } } }"""
RESTORE = """mutation($id: ID!) { restoreUmkm(id: $id) {
  umkm { id isDeleted } userErrors { code } } }"""
APPROVE = """mutation($id: ID!) { approveUmkm(id: $id) {
  umkm { id legalitas { statusVerifikasi } } userErrors { code } } }"""


async def _queue(api: Api, token: str, status: str = "PENDING") -> list[dict[str, Any]]:
    """Every task of a status through the API, walking small pages."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        data = (await api.as_(token)(TASKS, {"status": status, "first": 3, "after": after})).ok()[
            "verificationTasks"
        ]
        found.extend(data["nodes"])
        if not data["pageInfo"]["hasNextPage"]:
            return found
        after = data["pageInfo"]["endCursor"]


async def _ids(api: Api, token: str, status: str = "PENDING") -> list[str]:
    return [t["id"] for t in await _queue(api, token, status)]


async def _partition(dbs: Databases, status: str, task_id: uuid.UUID) -> bool:
    """Whether the raw Cassandra queue holds the task under `status` (API filters aside)."""
    task = await vt.find(dbs.cassandra, task_id)
    assert task is not None
    rows = await dbs.cassandra.execute(
        "SELECT task_id FROM verification_tasks WHERE status = ? AND bucket = ?",
        (status, task.bucket),
    )
    return any(r["task_id"] == task_id for r in rows)


async def _doc_of(dbs: Databases, uid: str) -> dict[str, Any]:
    doc = await umkm_profiles.find_by_id(dbs.mongo, uuid.UUID(uid))
    assert doc is not None
    return doc


async def _create(api: Api, dbs: Databases, token: str) -> tuple[str, uuid.UUID]:
    made = (await api.as_(token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]
    uid = made["umkm"]["id"]
    task_id = (await _doc_of(dbs, uid))["verification_task_id"]
    assert isinstance(task_id, uuid.UUID)
    return uid, task_id


async def test_delete_withdraws_and_restore_reinstates(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    staff, admin = await factory.account("PEJABAT"), await factory.account("ADMIN")
    uid, task_id = await _create(api, dbs, owner.token)
    _, other_task = await _create(api, dbs, owner.token)
    assert {str(task_id), str(other_task)} <= set(await _ids(api, staff.token))

    deleted = (await api.as_(owner.token)(DELETE, {"id": uid})).ok()["deleteUmkm"]
    assert deleted["userErrors"] == [] and deleted["umkm"]["isDeleted"] is True
    pending = await _ids(api, staff.token)
    assert str(task_id) not in pending and str(other_task) in pending
    # gone from the raw queue too (not only hidden by the listing), kept as WITHDRAWN
    assert not await _partition(dbs, "PENDING", task_id)
    assert await _partition(dbs, vt.WITHDRAWN, task_id)
    withdrawn = await vt.find(dbs.cassandra, task_id)
    assert withdrawn is not None and withdrawn.status == vt.WITHDRAWN
    # nor listed under any API status
    for status in ("VERIFIED", "REJECTED"):
        assert str(task_id) not in await _ids(api, staff.token, status)
    # approving a deleted UMKM is NOT_FOUND and leaves the task alone
    refused = (await api.as_(staff.token)(APPROVE, {"id": uid})).ok()["approveUmkm"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]
    # withdrawing again changes nothing (idempotent)
    again = await vt.withdraw(dbs.cassandra, task_id)
    assert again is not None and again.status == vt.WITHDRAWN
    assert not await _partition(dbs, "PENDING", task_id)

    restored = (await api.as_(admin.token)(RESTORE, {"id": uid})).ok()["restoreUmkm"]
    assert restored["userErrors"] == [] and restored["umkm"]["isDeleted"] is False
    back = [t for t in await _queue(api, staff.token) if t["id"] == str(task_id)]
    assert back == [
        {"id": str(task_id), "status": "PENDING", "reason": None, "umkm": {"id": uid},
         "decidedBy": None}
    ]  # fmt: skip
    assert not await _partition(dbs, vt.WITHDRAWN, task_id)

    # decidable again
    approved = (await api.as_(staff.token)(APPROVE, {"id": uid})).ok()["approveUmkm"]
    assert approved["userErrors"] == []
    assert approved["umkm"]["legalitas"]["statusVerifikasi"] == "VERIFIED"
    assert str(task_id) not in await _ids(api, staff.token)
    verified = [t for t in await _queue(api, staff.token, "VERIFIED") if t["id"] == str(task_id)]
    assert [t["decidedBy"] for t in verified] == [{"id": staff.gid}]


async def test_deleting_a_decided_umkm_leaves_its_task(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    uid, task_id = await _create(api, dbs, owner.token)
    assert (await api.as_(staff.token)(APPROVE, {"id": uid})).ok()["approveUmkm"][
        "userErrors"
    ] == []
    assert (await api.as_(owner.token)(DELETE, {"id": uid})).ok()["deleteUmkm"]["userErrors"] == []
    task = await vt.find(dbs.cassandra, task_id)
    assert task is not None and task.status == "VERIFIED"
    assert await _partition(dbs, "VERIFIED", task_id)


async def _mongo_only(dbs: Databases, uid: str, deleted: bool) -> None:
    """What deleteUmkm/restoreUmkm write to MongoDB, then the process 'dies' before the task
    moves."""
    doc = await _doc_of(dbs, uid)
    changes = {"is_deleted": deleted, "deleted_at": doc["created_at"] if deleted else None}
    assert await umkm_profiles.compare_and_set(dbs.mongo, doc, changes) is not None


async def test_repair_after_crashes_around_the_task_move(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    uid, task_id = await _create(api, dbs, owner.token)

    # 1. deleted in MongoDB, crash before the task move: the raw queue still holds it, the
    #    listing already skips it, repair moves it.
    await _mongo_only(dbs, uid, deleted=True)
    assert await _partition(dbs, "PENDING", task_id)
    assert str(task_id) not in await _ids(api, staff.token)
    report = await repair_verification(dbs)
    assert report.tasks_aligned >= 1
    assert not await _partition(dbs, "PENDING", task_id)
    assert await _partition(dbs, vt.WITHDRAWN, task_id)

    # 2. restored in MongoDB, crash before the task came back: repair reinstates it.
    await _mongo_only(dbs, uid, deleted=False)
    assert str(task_id) not in await _ids(api, staff.token)
    report = await repair_verification(dbs)
    assert report.tasks_aligned >= 1
    assert str(task_id) in await _ids(api, staff.token)
    assert not await _partition(dbs, vt.WITHDRAWN, task_id)

    # 3. deleted again; the move's first step (by_id) ran, then the crash: rows not moved.
    await _mongo_only(dbs, uid, deleted=True)
    current = await vt.find(dbs.cassandra, task_id)
    assert current is not None
    await dbs.cassandra.execute(vt.MOVE, (vt.WITHDRAWN, None, None, None, task_id, "PENDING"))
    assert await _partition(dbs, "PENDING", task_id)
    await repair_verification(dbs)
    assert not await _partition(dbs, "PENDING", task_id)
    assert await _partition(dbs, vt.WITHDRAWN, task_id)

    # idempotent: nothing left to align
    again = await repair_verification(dbs)
    assert (again.tasks_created, again.tasks_assigned, again.tasks_aligned) == (0, 0, 0)


async def test_approving_after_a_restore_that_died_before_the_task_move(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    uid, task_id = await _create(api, dbs, owner.token)
    assert (await api.as_(owner.token)(DELETE, {"id": uid})).ok()["deleteUmkm"]["userErrors"] == []
    await _mongo_only(dbs, uid, deleted=False)  # restored, task still withdrawn
    approved = (await api.as_(staff.token)(APPROVE, {"id": uid})).ok()["approveUmkm"]
    assert approved["userErrors"] == []
    task = await vt.find(dbs.cassandra, task_id)
    assert task is not None and task.status == "VERIFIED" and task.decided_by == staff.id
    assert await _partition(dbs, "VERIFIED", task_id)
    assert not await _partition(dbs, vt.WITHDRAWN, task_id)
    assert not await _partition(dbs, "PENDING", task_id)


async def test_pending_listing_never_shows_deleted_umkms(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    """Several deleted-but-not-yet-moved tasks between live ones: pages stay full where rows
    exist, and walking them yields exactly the live tasks."""
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    made = [await _create(api, dbs, owner.token) for _ in range(7)]
    for uid, _ in made[1:6]:
        await _mongo_only(dbs, uid, deleted=True)  # crash: tasks still in the raw queue
    listed = await _ids(api, staff.token)
    live = {str(made[0][1]), str(made[6][1])}
    assert live <= set(listed)
    assert not {str(t) for _, t in made[1:6]} & set(listed)
    assert len(listed) == len(set(listed))
    first = (await api.as_(staff.token)(TASKS, {"status": "PENDING", "first": 2})).ok()
    assert [n["id"] for n in first["verificationTasks"]["nodes"]] == [
        str(made[6][1]),
        str(made[0][1]),
    ]
    for uid, _ in made[1:6]:
        await _mongo_only(dbs, uid, deleted=False)
    await repair_verification(dbs)
