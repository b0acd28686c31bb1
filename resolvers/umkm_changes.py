"""The one write path of UMKM profiles, shared by the profile and verification resolvers.

Order of every write (CONVENTIONS §5): MongoDB first (the source of truth, compare-and-set on
the document version, so concurrent writers cannot both win and `before` is exact), then the
Cassandra verification task when the write opens a PENDING submission (its id is stored in the
document first, so a repair can recreate a missing task), then the aggregate hook, then pubsub.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from db import aggregates, umkm_profiles, verification_tasks
from db.mongo import MongoDoc
from resolvers.views import umkm_from_doc
from schema.common import UserError
from schema.enums import UserErrorCode
from schema.umkm import UMKMPayload
from sigma_graphql.context import Context
from sigma_graphql.i18n import Lang, register, t

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
# Fields whose change moves the UMKM in or out of the aggregates (db/aggregates.py).
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


def parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def get_path(doc: MongoDoc, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def user_error(path: list[str], code: UserErrorCode, key: str, lang: Lang) -> UserError:
    return UserError(field=path, message=t(key, lang), code=code)


def not_found(lang: Lang) -> list[UserError]:
    return [user_error(["id"], UserErrorCode.NOT_FOUND, "umkm.not_found", lang)]


def invalid_state(lang: Lang) -> list[UserError]:
    return [user_error(["id"], UserErrorCode.INVALID_STATE, "invalid_state", lang)]


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


async def write(ctx: Context, umkm_id: uuid.UUID, plan: Plan) -> Written | list[UserError]:
    """Reads the document, lets `plan` decide, and writes with compare-and-set; a concurrent
    write makes it read and decide again (so the loser of two approvals sees VERIFIED)."""
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
        after = await umkm_profiles.compare_and_set(ctx.mongo, before, decided.set, now=now)
        if after is None:
            continue
        await after_write(ctx, before, after, task_id)
        return Written(before, after)
    return [user_error(["id"], UserErrorCode.INVALID_STATE, "umkm.conflict", ctx.lang)]


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
