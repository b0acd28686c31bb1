"""The ordered write flow of UMKM profiles across MongoDB and Cassandra.

Same shape as the revenue flow (db/writes/financial.py): it takes the database handles and the
event publisher and returns outcomes (Written, NotFound, InvalidState, Forbidden, Conflict);
resolvers turn refusals into userErrors or errors. The caller has validated the input.

Order of every write: an intent (db/write_intents.py) when the write has Cassandra follow-ups,
then MongoDB (the source of truth, compare-and-set on the document version, so concurrent
writers cannot both win and `before` is exact), then the Cassandra verification task when the
write opens a PENDING submission (its id is stored in the document first, so a repair can
recreate a missing task), then the aggregate hook, then pubsub, then the intent is marked done.
An intent left open (the process died, Cassandra failed) is repaired by the reconciler
(db/maintenance/intent_repair.py): task, months, counts. Tests kill the process right after the
MongoDB write through SIGMA_TEST_CRASH_AT=after_profile_write (db.writes.crash.fault_point).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db import notifications, umkm_profiles, verification_tasks, write_intents
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import aggregates, umkm_counts
from db.writes.crash import fault_point
from sigma_graphql.core.clock import now_ms
from sigma_graphql.core.i18n import register, t
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.viewer import Viewer

# Notifications are stored in Bahasa Indonesia (t's default language): they outlive the
# request that caused them.
register(
    {
        "verification.verified_title": ("UMKM terverifikasi", "UMKM verified"),
        "verification.verified_message": (
            'Selamat! UMKM "{nama}" telah diverifikasi dan kini tampil untuk publik.',
            'Congratulations! UMKM "{nama}" is verified and now visible to the public.',
        ),
        "verification.rejected_title": ("Verifikasi UMKM ditolak", "UMKM verification rejected"),
        "verification.rejected_message": (
            'UMKM "{nama}" belum dapat diverifikasi. Alasan: {reason} '
            "Perbaiki data lalu ajukan ulang.",
            'UMKM "{nama}" could not be verified. Reason: {reason} Correct it and resubmit.',
        ),
    }
)

TASK_TOPIC = "verification_tasks"
_ATTEMPTS = 5
# Fields whose change moves the UMKM in or out of the aggregates (db/writes/aggregates.py).
_AGGREGATE_PATHS = (
    ("legalitas", "status_verifikasi"),
    ("is_deleted",),
    ("sektor",),
    ("wilayah", "kota"),
    ("nama_usaha",),
)


# ------------------------------------------------------------------ outcomes


@dataclass(frozen=True)
class Written:
    before: MongoDoc
    after: MongoDoc


@dataclass(frozen=True)
class NotFound:
    """No such UMKM, or one the plan treats as absent (soft-deleted)."""


@dataclass(frozen=True)
class InvalidState:
    """The UMKM's current status does not allow the change."""


@dataclass(frozen=True)
class Forbidden:
    """The actor may not change this UMKM."""


@dataclass(frozen=True)
class Conflict:
    """The document kept changing under every attempt's compare-and-set."""


Refusal = NotFound | InvalidState | Forbidden
Outcome = Written | Refusal | Conflict


@dataclass
class Change:
    """What a write plan decided: the $set of dotted paths, and whether it opens a new PENDING
    submission (a new verification task)."""

    set: dict[str, Any] = field(default_factory=dict)
    opens_task: bool = False


# Decides from the current document; runs again when a concurrent write won the race.
Plan = Callable[[MongoDoc], Change | Refusal]


# ------------------------------------------------------------------ the flows


async def create(dbs: Databases, pubsub: PubSub, doc: MongoDoc, *, actor: Viewer) -> Written:
    """Inserts a new profile (umkm_profiles.new_umkm_doc); a PENDING one gets its task."""
    pending = doc["legalitas"]["status_verifikasi"] == "PENDING"
    task_id = verification_tasks.new_task_id(doc["created_at"]) if pending else None
    doc["verification_task_id"] = task_id
    intent = await _open_intent(dbs, None, doc, task_id)
    await umkm_profiles.insert(dbs.mongo, doc)
    await _after_write(dbs, pubsub, None, doc, task_id, actor)
    await _close_intent(dbs, intent)
    return Written(doc, doc)


async def write(
    dbs: Databases,
    pubsub: PubSub,
    umkm_id: uuid.UUID,
    plan: Plan,
    *,
    actor: Viewer,
    then: Callable[[Written], Awaitable[None]] | None = None,
) -> Outcome:
    """Reads the document, lets `plan` decide, and writes with compare-and-set; a concurrent
    write makes it read and decide again (so the loser of two approvals sees VERIFIED).
    `then` runs for the winner before the intent is closed (a decision's task move)."""
    for _ in range(_ATTEMPTS):
        before = await umkm_profiles.find_by_id(dbs.mongo, umkm_id)
        if before is None:
            return NotFound()
        decided = plan(before)
        if not isinstance(decided, Change):
            return decided
        if not decided.set:
            return Written(before, before)
        now = now_ms()
        task_id = verification_tasks.new_task_id(now) if decided.opens_task else None
        if decided.opens_task:
            decided.set["verification_task_id"] = task_id
        intent = await _open_intent(dbs, before, preview(before, decided.set), task_id)
        after = await umkm_profiles.compare_and_set(dbs.mongo, before, decided.set, now=now)
        if after is None:
            await _close_intent(dbs, intent)  # nothing was written
            continue
        await _after_write(dbs, pubsub, before, after, task_id, actor)
        written = Written(before, after)
        if then is not None:
            await then(written)
        await _close_intent(dbs, intent)
        return written
    return Conflict()


async def decide(
    dbs: Databases,
    pubsub: PubSub,
    umkm_id: uuid.UUID,
    *,
    status: str,
    reason: str | None,
    actor: Viewer,
) -> Outcome:
    """Approves (VERIFIED) or rejects (REJECTED) a PENDING submission. Exactly one of concurrent
    decisions wins the compare-and-set; only the winner moves the task and notifies the owner."""
    decided_at = now_ms()

    def plan(before: MongoDoc) -> Change | Refusal:
        if before.get("is_deleted"):
            return NotFound()
        if before["legalitas"]["status_verifikasi"] != "PENDING":
            return InvalidState()
        return Change(
            {
                "legalitas.status_verifikasi": status,
                "legalitas.verified_by": actor.user_id,
                "legalitas.tanggal_verifikasi": decided_at,
                "legalitas.rejection_reason": reason if status == "REJECTED" else None,
            }
        )

    async def record(written: Written) -> None:
        await _record_decision(dbs, pubsub, written, status, decided_at, reason, actor)

    return await write(dbs, pubsub, umkm_id, plan, actor=actor, then=record)


async def _record_decision(
    dbs: Databases,
    pubsub: PubSub,
    written: Written,
    status: str,
    decided_at: datetime,
    reason: str | None,
    actor: Viewer,
) -> None:
    """Only the winner of the compare-and-set gets here: move the task, notify the owner."""
    task_id = written.before.get("verification_task_id")
    if task_id is not None and actor.user_id is not None:
        for _ in range(2):
            decided = await verification_tasks.decide(
                dbs.cassandra,
                task_id,
                status=status,
                decided_by=actor.user_id,
                decided_at=decided_at,
                reason=reason,
            )
            # Still withdrawn (a restore died before putting it back): back first, then decide.
            if (
                decided is not None
                or await verification_tasks.reinstate(dbs.cassandra, task_id) is None
            ):
                break
    owner_id = written.after.get("owner_id")
    if owner_id is None:
        return
    nama = written.after["nama_usaha"]
    if status == "VERIFIED":
        kind, title = "UMKM_VERIFIED", t("verification.verified_title", "id")
        message = t("verification.verified_message", "id", nama=nama)
    else:
        kind, title = "UMKM_REJECTED", t("verification.rejected_title", "id")
        message = t("verification.rejected_message", "id", nama=nama, reason=reason)
    await notifications.create(
        dbs,
        pubsub,
        owner_id=owner_id,
        type=kind,
        title=title,
        message=message,
        umkm_id=written.after["_id"],
    )


# ------------------------------------------------------------------ steps


def get_path(doc: MongoDoc, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def preview(before: MongoDoc, changes: dict[str, Any]) -> MongoDoc:
    """The document as `changes` ($set of dotted paths) will leave it."""
    doc = copy.deepcopy(before)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        target = doc
        for part in parents:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[leaf] = value
    return doc


def _has_followups(before: MongoDoc | None, after: MongoDoc, task_id: uuid.UUID | None) -> bool:
    """Whether _after_write has Cassandra work to do for this write (then it needs an intent)."""
    if task_id is not None or _aggregates_affected(before, after):
        return True
    assert before is not None  # a create always affects the aggregates
    return bool(before.get("is_deleted")) != bool(after.get("is_deleted"))


async def _open_intent(
    dbs: Databases, before: MongoDoc | None, after: MongoDoc, task_id: uuid.UUID | None
) -> write_intents.Intent | None:
    """Step (0) of a write with Cassandra follow-ups, before MongoDB: names the UMKM, its
    (sektor, kota) cells and count statuses before and after, so the reconciler finishes the
    task, the months and the counts if the process dies after the MongoDB write."""
    if not _has_followups(before, after, task_id):
        return None
    docs = [before, after]
    statuses = [umkm_counts.counted_of(d).status for d in docs]
    return await write_intents.open_umkm(
        dbs.cassandra, after["_id"], docs, [s for s in statuses if s is not None]
    )


async def _close_intent(dbs: Databases, intent: write_intents.Intent | None) -> None:
    if intent is not None:
        await write_intents.finish(dbs.cassandra, [intent])


def _aggregates_affected(before: MongoDoc | None, after: MongoDoc) -> bool:
    if before is None:
        return True
    return any(
        get_path(before, ".".join(p)) != get_path(after, ".".join(p)) for p in _AGGREGATE_PATHS
    )


async def _after_write(
    dbs: Databases,
    pubsub: PubSub,
    before: MongoDoc | None,
    after: MongoDoc,
    task_id: uuid.UUID | None,
    actor: Viewer,
) -> None:
    """Cassandra and pubsub follow-ups of a Mongo write that succeeded."""
    await fault_point("after_profile_write")
    if task_id is not None:
        await _open_task(dbs, pubsub, after, task_id, actor)
    elif before is not None and bool(before.get("is_deleted")) != bool(after.get("is_deleted")):
        await _follow_deletion(dbs, pubsub, after)
    elif (
        before is not None
        and after.get("verification_task_id") is not None
        and after["legalitas"]["status_verifikasi"] == "PENDING"
        and before["nama_usaha"] != after["nama_usaha"]
    ):
        await verification_tasks.rename(
            dbs.cassandra, after["verification_task_id"], after["nama_usaha"]
        )
    if _aggregates_affected(before, after):
        await aggregates.on_umkm_changed(dbs, before, after)


async def _follow_deletion(dbs: Databases, pubsub: PubSub, after: MongoDoc) -> None:
    """Soft delete takes a PENDING UMKM's task out of the queue; restore puts it back.

    Mongo is written first; if the process dies before the move, `repair-verification` aligns
    the task with the document. A delete and a restore racing could move the task in the
    opposite order of their Mongo writes, so the task follows a fresh read of the document
    (re-read until it stops changing, a few times at most).
    """
    doc: MongoDoc | None = after
    for _ in range(_ATTEMPTS):
        if doc is None:
            return
        back = await verification_tasks.align(dbs.cassandra, doc)
        fresh = await umkm_profiles.find_by_id(dbs.mongo, doc["_id"])
        if fresh is None or fresh.get("version") == doc.get("version"):
            if back is not None and fresh is not None and not fresh.get("is_deleted"):
                pubsub.publish(TASK_TOPIC, back)  # back in the queue
            return
        doc = fresh


async def _open_task(
    dbs: Databases, pubsub: PubSub, doc: MongoDoc, task_id: uuid.UUID, actor: Viewer
) -> None:
    # The owner's own account e-mail when the owner submits; the profile's contact otherwise.
    owner_email = actor.email if actor.owns(doc.get("owner_id")) else None
    task = await verification_tasks.create(
        dbs.cassandra,
        task_id=task_id,
        umkm_id=doc["_id"],
        nama_usaha=doc["nama_usaha"],
        owner_email=owner_email or (doc.get("pemilik") or {}).get("email"),
    )
    pubsub.publish(TASK_TOPIC, task)
