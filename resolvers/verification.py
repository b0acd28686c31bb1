"""The verification workflow: task queue, approve/reject/resubmit, subscription.

A decision is won by exactly one request: the compare-and-set of db.writes.umkm.write
on the UMKM document (only a PENDING document at the version that was read can change), so
concurrent approvals yield one decision, one task move and one notification.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from operator import attrgetter

import strawberry

from db import verification_tasks
from db.drivers.mongo import MongoDoc
from db.verification_tasks import TaskRow
from db.writes import umkm as umkm_writes
from db.writes.umkm import TASK_TOPIC, Change, Forbidden, InvalidState, NotFound, Refusal
from loaders.umkm import umkm_by_id
from resolvers.common import parse_id, user_error
from resolvers.rules.account import text_errors
from resolvers.umkm import failed, not_found, write_payload, write_result
from schema.types.enums import UserErrorCode, VerificationStatus
from schema.types.pagination import (
    bad_cursor,
    check_first,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    page_info,
)
from schema.types.umkm import (
    UMKMPayload,
    VerificationTask,
    VerificationTaskConnection,
    VerificationTaskEdge,
)
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.i18n import register
from sigma_graphql.request.context import Context, Info

register(
    {
        "verification.reason_length": (
            "Alasan penolakan harus {min} sampai {max} karakter",
            "The rejection reason must be {min} to {max} characters",
        ),
    }
)

REASON_MIN, REASON_MAX = 10, limits.REASON.max_len
_BUCKET = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
FIRST_BUCKET = f"{verification_tasks.FIRST_YEAR}-01"


def task_from_row(row: TaskRow) -> VerificationTask:
    return VerificationTask(
        id=strawberry.ID(str(row.task_id)),
        status=VerificationStatus(row.status),
        created_at=row.created_at,
        nama_usaha=row.nama_usaha,
        owner_email=row.owner_email,
        decided_at=row.decided_at,
        reason=row.reason,
        umkm_id=row.umkm_id,
        decided_by_id=row.decided_by,
    )


def _cursor(row: TaskRow) -> str:
    return encode_cursor({"b": row.bucket, "t": str(row.task_id)})


async def list_tasks(
    info: Info, status: VerificationStatus | None, first: int | None, after: str | None
) -> VerificationTaskConnection:
    ctx = info.context
    n = check_first(first)
    wanted = (status or VerificationStatus.PENDING).value
    start = verification_tasks.bucket_of(datetime.now(UTC))
    last: uuid.UUID | None = None
    data = decode_cursor(after)
    if data is not None:
        bucket = str(data.get("b"))
        last = cursor_uuid(data, "t")
        # A month from the first year of tasks to now: each year before the bucket's is one
        # more statement, so a forged "9999-12" must not get that far.
        if not _BUCKET.fullmatch(bucket) or not FIRST_BUCKET <= bucket <= start:
            raise bad_cursor()
        start = bucket
    rows = await _page(ctx, wanted, n + 1, start, last)
    edges = [VerificationTaskEdge(cursor=_cursor(r), node=task_from_row(r)) for r in rows[:n]]
    return VerificationTaskConnection(
        edges=edges,
        nodes=[e.node for e in edges],
        page_info=page_info(
            edges, attrgetter("cursor"), has_next=len(rows) > n, has_previous=after is not None
        ),
    )


async def _page(
    ctx: Context, status: str, limit: int, bucket: str, last: uuid.UUID | None
) -> list[TaskRow]:
    """Up to `limit` tasks; the PENDING queue skips tasks whose UMKM is soft-deleted.

    Deletion withdraws the task (db/writes/umkm.py), so such a row only shows between the
    Mongo write and the task move, or after a crash until `repair-verification`. The documents
    are read through the umkm_by_id loader, which `VerificationTask.umkm` reuses: no extra round
    trip when the UMKMs are asked for, one `$in` otherwise.
    """
    kept: list[TaskRow] = []
    while True:
        need = limit - len(kept)
        rows = await verification_tasks.page(
            ctx.cassandra, status, need, start_bucket=bucket, after=last
        )
        if status == verification_tasks.PENDING and rows:
            docs = await ctx.loaders.get(umkm_by_id).load_many([r.umkm_id for r in rows])
            kept.extend(
                r for r, d in zip(rows, docs, strict=True) if not (d and d.get("is_deleted"))
            )
        else:
            kept.extend(rows)
        if len(rows) < need or len(kept) >= limit:
            return kept
        bucket, last = rows[-1].bucket, rows[-1].task_id


async def _decide(
    ctx: Context, raw_id: strawberry.ID, status: str, reason: str | None
) -> UMKMPayload:
    umkm_id = parse_id(raw_id)
    if umkm_id is None:
        return not_found()
    outcome = await umkm_writes.decide(
        ctx.dbs, ctx.services.pubsub, umkm_id, status=status, reason=reason, actor=ctx.viewer
    )
    return write_result(ctx, outcome)


async def approve_umkm(info: Info, id: strawberry.ID, note: str | None) -> UMKMPayload:
    ctx = info.context
    cleaned = (note or "").strip() or None
    problem = limits.text_problem(cleaned, limits.NOTE) if cleaned is not None else None
    if problem is not None:
        code = UserErrorCode(problem.code)
        return failed([user_error(["note"], problem.key, code, **problem.params)])
    return await _decide(ctx, id, "VERIFIED", cleaned)


async def reject_umkm(info: Info, id: strawberry.ID, reason: str) -> UMKMPayload:
    ctx = info.context
    cleaned = reason.strip()
    if not REASON_MIN <= len(cleaned) <= REASON_MAX:
        code = UserErrorCode.TOO_SHORT if len(cleaned) < REASON_MIN else UserErrorCode.TOO_LONG
        return failed(
            [
                user_error(
                    ["reason"],
                    "verification.reason_length",
                    code,
                    min=REASON_MIN,
                    max=REASON_MAX,
                )
            ]
        )
    problems = text_errors(cleaned, limits.REASON, ["reason"])
    if problems:
        return failed(problems)
    return await _decide(ctx, id, "REJECTED", cleaned)


async def resubmit_umkm(info: Info, id: strawberry.ID) -> UMKMPayload:
    ctx = info.context

    def plan(before: MongoDoc) -> Change | Refusal:
        if before.get("is_deleted"):
            return NotFound()
        if not ctx.viewer.owns(before.get("owner_id")):
            return Forbidden()
        if before["legalitas"]["status_verifikasi"] != "REJECTED":
            return InvalidState()
        # The previous rejection reason stays visible to reviewers until the next decision.
        return Change(
            {
                "legalitas.status_verifikasi": "PENDING",
                "legalitas.verified_by": None,
                "legalitas.tanggal_verifikasi": None,
            },
            opens_task=True,
        )

    return await write_payload(ctx, id, plan)


async def subscribe(info: Info) -> AsyncGenerator[VerificationTask, None]:
    """New PENDING tasks (published by db/writes/umkm.py when a submission opens). Staff only: the
    permission is on the root field."""
    ctx = info.context
    async for row in ctx.services.pubsub.subscribe(TASK_TOPIC):
        if not await ctx.services.sockets.admit(ctx):
            continue  # withheld; an ended session has closed the socket, which ends this loop
        # One context serves the whole subscription: fresh loaders so nothing is stale.
        ctx.fresh_loaders()
        yield task_from_row(row)
