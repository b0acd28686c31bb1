"""The one write path of UMKM profiles, shared by the profile and verification resolvers.

Order of every write (CONVENTIONS §5): an intent (db/write_intents.py) when the write has
Cassandra follow-ups, then MongoDB (the source of truth, compare-and-set on
the document version, so concurrent writers cannot both win and `before` is exact), then the
Cassandra verification task when the write opens a PENDING submission (its id is stored in the
document first, so a repair can recreate a missing task), then the aggregate hook, then pubsub,
then the intent is marked done. An intent left open (the process died, Cassandra failed) is
repaired by the reconciler (db/maintenance/intent_repair.py): task, months, counts.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from db import umkm_profiles, verification_tasks, write_intents
from db.drivers.mongo import MongoDoc
from db.writes import aggregates, umkm_counts
from db.writes.crash import fault_point
from resolvers.common import parse_id, user_error
from resolvers.views import umkm_from_doc
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from schema.types.umkm import UMKMPayload
from sigma_graphql.core.i18n import Lang, register
from sigma_graphql.request.context import Context

register(
    {
        "umkm.not_found": ("UMKM tidak ditemukan", "UMKM not found"),
        "umkm.conflict": (
            "UMKM sedang diubah oleh permintaan lain, coba lagi",
            "The UMKM is being changed by another request, try again",
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


def now_ms() -> datetime:
    """Now, truncated to MongoDB's millisecond precision (what is returned equals what is read)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def get_path(doc: MongoDoc, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def not_found(lang: Lang) -> list[UserError]:
    return [user_error(["id"], "umkm.not_found", UserErrorCode.NOT_FOUND, lang)]


def invalid_state(lang: Lang) -> list[UserError]:
    return [user_error(["id"], "invalid_state", UserErrorCode.INVALID_STATE, lang)]


def failed(errors: list[UserError]) -> UMKMPayload:
    return UMKMPayload(umkm=None, user_errors=errors)


async def write_payload(ctx: Context, raw_id: str, plan: Plan) -> UMKMPayload:
    """The scaffold of every UMKM mutation that changes one profile: an unknown id is a
    NOT_FOUND userError, refusals from `plan` become userErrors, success returns the UMKM as the
    viewer may see it."""
    umkm_id = parse_id(raw_id)
    if umkm_id is None:
        return failed(not_found(ctx.lang))
    result = await write(ctx, umkm_id, plan)
    if isinstance(result, list):
        return failed(result)
    return UMKMPayload(umkm=umkm_from_doc(result.after, ctx.viewer), user_errors=[])


@dataclass
class Change:
    """What a write plan decided: the $set of dotted paths, and whether it opens a new PENDING
    submission (a new verification task)."""

    set: dict[str, Any] = field(default_factory=dict)
    opens_task: bool = False


Plan = Callable[[MongoDoc], "Change | list[UserError]"]


@dataclass
class Written:
    before: MongoDoc
    after: MongoDoc


async def write(
    ctx: Context,
    umkm_id: uuid.UUID,
    plan: Plan,
    then: Callable[[Written], Awaitable[None]] | None = None,
) -> Written | list[UserError]:
    """Reads the document, lets `plan` decide, and writes with compare-and-set; a concurrent
    write makes it read and decide again (so the loser of two approvals sees VERIFIED).
    `then` runs for the winner before the intent is closed (a decision's task move)."""
    for _ in range(_ATTEMPTS):
        before = await umkm_profiles.find_by_id(ctx.mongo, umkm_id)
        if before is None:
            return not_found(ctx.lang)
        decided = plan(before)
        if isinstance(decided, list):
            return decided
        if not decided.set:
            return Written(before, before)
        now = now_ms()
        task_id = verification_tasks.new_task_id(now) if decided.opens_task else None
        if decided.opens_task:
            decided.set["verification_task_id"] = task_id
        intent = await open_intent(ctx, before, preview(before, decided.set), task_id)
        after = await umkm_profiles.compare_and_set(ctx.mongo, before, decided.set, now=now)
        if after is None:
            await close_intent(ctx, intent)  # nothing was written
            continue
        await after_write(ctx, before, after, task_id)
        written = Written(before, after)
        if then is not None:
            await then(written)
        await close_intent(ctx, intent)
        return written
    return [user_error(["id"], "umkm.conflict", UserErrorCode.INVALID_STATE, ctx.lang)]


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


def has_followups(before: MongoDoc | None, after: MongoDoc, task_id: uuid.UUID | None) -> bool:
    """Whether after_write has Cassandra work to do for this write (then it needs an intent)."""
    if task_id is not None or aggregates_affected(before, after):
        return True
    assert before is not None  # a create always affects the aggregates
    return bool(before.get("is_deleted")) != bool(after.get("is_deleted"))


async def open_intent(
    ctx: Context, before: MongoDoc | None, after: MongoDoc, task_id: uuid.UUID | None
) -> write_intents.Intent | None:
    """Step (0) of a write with Cassandra follow-ups, before MongoDB: names the UMKM, its
    (sektor, kota) cells and count statuses before and after, so the reconciler finishes the
    task, the months and the counts if the process dies after the MongoDB write."""
    if not has_followups(before, after, task_id):
        return None
    docs = [before, after]
    statuses = [umkm_counts.counted_of(d).status for d in docs]
    return await write_intents.open_umkm(
        ctx.cassandra, after["_id"], docs, [s for s in statuses if s is not None]
    )


async def close_intent(ctx: Context, intent: write_intents.Intent | None) -> None:
    if intent is not None:
        await write_intents.finish(ctx.cassandra, [intent])


def aggregates_affected(before: MongoDoc | None, after: MongoDoc) -> bool:
    if before is None:
        return True
    return any(
        get_path(before, ".".join(p)) != get_path(after, ".".join(p)) for p in _AGGREGATE_PATHS
    )


async def after_write(
    ctx: Context, before: MongoDoc | None, after: MongoDoc, task_id: uuid.UUID | None
) -> None:
    """Cassandra and pubsub follow-ups of a Mongo write that succeeded."""
    await fault_point("after_profile_write")
    if task_id is not None:
        await open_task(ctx, after, task_id)
    elif before is not None and bool(before.get("is_deleted")) != bool(after.get("is_deleted")):
        await _follow_deletion(ctx, after)
    elif (
        before is not None
        and after.get("verification_task_id") is not None
        and after["legalitas"]["status_verifikasi"] == "PENDING"
        and before["nama_usaha"] != after["nama_usaha"]
    ):
        await verification_tasks.rename(
            ctx.cassandra, after["verification_task_id"], after["nama_usaha"]
        )
    if aggregates_affected(before, after):
        await aggregates.on_umkm_changed(ctx.dbs, before, after)


async def _follow_deletion(ctx: Context, after: MongoDoc) -> None:
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
        back = await verification_tasks.align(ctx.cassandra, doc)
        fresh = await umkm_profiles.find_by_id(ctx.mongo, doc["_id"])
        if fresh is None or fresh.get("version") == doc.get("version"):
            if back is not None and fresh is not None and not fresh.get("is_deleted"):
                ctx.services.pubsub.publish(TASK_TOPIC, back)  # back in the queue
            return
        doc = fresh


async def open_task(ctx: Context, doc: MongoDoc, task_id: uuid.UUID) -> None:
    owner_email = ctx.viewer.email if ctx.viewer.owns(doc.get("owner_id")) else None
    task = await verification_tasks.create(
        ctx.cassandra,
        task_id=task_id,
        umkm_id=doc["_id"],
        nama_usaha=doc["nama_usaha"],
        owner_email=owner_email or (doc.get("pemilik") or {}).get("email"),
    )
    ctx.services.pubsub.publish(TASK_TOPIC, task)
