"""`sigma-graphql repair-verification`: makes the Cassandra queue agree with MongoDB again.

MongoDB is written first (db/writes/umkm.py) and names the task of the latest
submission (`verification_task_id`), so a process that died halfway leaves one of:
- a PENDING document whose task row was never written -> the task is created (same id);
- a PENDING document without any task (imported data) -> a task is assigned and created;
- a decided document whose task still sits in PENDING -> the decision recorded in the document
  (who, when, rejection reason) is applied to the task;
- a soft-deleted PENDING document whose task is still in the PENDING queue -> withdrawn; a
  restored one whose task is still withdrawn -> back in the queue (also finishing a move whose
  first step, the by_id row, was written but not the rest).
Every step is idempotent, so the command can run at any time and as often as wanted. The
reconciler runs the same repairs for the UMKM of every UMKM write left open (`repair_umkm`,
db/maintenance/intent_repair.py), so the command is only needed after writes that bypassed the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from db import umkm_profiles, verification_tasks
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc

_PROJECTION = {
    "nama_usaha": 1,
    "pemilik.email": 1,
    "legalitas": 1,
    "verification_task_id": 1,
    "version": 1,
    "is_deleted": 1,
}


@dataclass
class RepairReport:
    tasks_created: int = 0
    tasks_assigned: int = 0
    decisions_finished: int = 0
    tasks_aligned: int = 0  # withdrawn for a deleted UMKM, or back in the queue after restore
    superseded: int = 0  # PENDING tasks of an older submission whose decision is unknown

    def __str__(self) -> str:
        return (
            f"verification: {self.tasks_created} tasks created, {self.tasks_assigned} assigned, "
            f"{self.decisions_finished} decisions finished, {self.tasks_aligned} aligned with "
            f"deletion, {self.superseded} superseded left"
        )


async def _ensure_task(dbs: Databases, doc: MongoDoc, report: RepairReport) -> None:
    task_id = doc.get("verification_task_id")
    status: str | None = None
    if task_id is None:
        task_id = verification_tasks.new_task_id(datetime.now(UTC))
        written = await umkm_profiles.compare_and_set(
            dbs.mongo, doc, {"verification_task_id": task_id}
        )
        if written is None:
            return  # changed meanwhile: that write made its own task
        doc = written
        report.tasks_assigned += 1
    else:
        task = await verification_tasks.find(dbs.cassandra, task_id)
        status = task.status if task is not None else None
    if status is None:
        await verification_tasks.create(
            dbs.cassandra,
            task_id=task_id,
            umkm_id=doc["_id"],
            nama_usaha=doc["nama_usaha"],
            owner_email=(doc.get("pemilik") or {}).get("email"),
        )
        report.tasks_created += 1
        status = verification_tasks.PENDING
    # Always (idempotent): also finishes a move whose by_id step ran but whose rows did not.
    await verification_tasks.align(dbs.cassandra, doc)
    wanted = verification_tasks.WITHDRAWN if doc.get("is_deleted") else verification_tasks.PENDING
    if status != wanted:
        report.tasks_aligned += 1


async def _finish_decisions(dbs: Databases, report: RepairReport) -> None:
    cass = dbs.cassandra
    now_bucket = verification_tasks.bucket_of(datetime.now(UTC))
    for bucket in await verification_tasks.months_with_tasks(cass, "PENDING", now_bucket):
        rows = await cass.execute(
            f"SELECT {verification_tasks.COLUMNS} FROM verification_tasks "
            "WHERE status = ? AND bucket = ?",
            ("PENDING", bucket),
        )
        for task in map(verification_tasks.from_row, rows):
            doc = await umkm_profiles.find_by_id(dbs.mongo, task.umkm_id)
            if doc is None:
                continue
            if doc.get("verification_task_id") != task.task_id:
                report.superseded += 1
                continue
            await _finish_decision(dbs, doc, task.task_id, report)


async def _finish_decision(
    dbs: Databases, doc: MongoDoc, task_id: uuid.UUID, report: RepairReport
) -> None:
    """Applies the decision recorded in the document to its still PENDING task."""
    legal = doc["legalitas"]
    status = legal["status_verifikasi"]
    if status == "PENDING" or legal.get("verified_by") is None:
        return
    await verification_tasks.decide(
        dbs.cassandra,
        task_id,
        status=status,
        decided_by=legal["verified_by"],
        decided_at=legal.get("tanggal_verifikasi") or datetime.now(UTC),
        reason=legal.get("rejection_reason") if status == "REJECTED" else None,
    )
    report.decisions_finished += 1


async def repair_umkm(dbs: Databases, umkm_id: uuid.UUID) -> RepairReport:
    """The same repairs for one UMKM (the reconciler runs it for an UMKM write left open):
    its PENDING task created and aligned with deletion, or its decision finished."""
    report = RepairReport()
    doc = await dbs.mongo[umkm_profiles.COLLECTION].find_one({"_id": umkm_id}, _PROJECTION)
    if doc is None:
        return report
    if doc["legalitas"]["status_verifikasi"] == "PENDING":
        await _ensure_task(dbs, doc, report)
        return report
    task_id = doc.get("verification_task_id")
    if task_id is not None:
        task = await verification_tasks.find(dbs.cassandra, task_id)
        if task is not None and task.status == verification_tasks.PENDING:
            await _finish_decision(dbs, doc, task_id, report)
    return report


async def repair_verification(dbs: Databases) -> RepairReport:
    report = RepairReport()
    query = {"legalitas.status_verifikasi": "PENDING"}
    cursor = dbs.mongo[umkm_profiles.COLLECTION].find(query, _PROJECTION).batch_size(500)
    async for doc in cursor:
        await _ensure_task(dbs, doc, report)
    await _finish_decisions(dbs, report)
    return report
