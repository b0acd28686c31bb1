"""Exports (issue 18): startExport, exportJob, exportJobs, exportJobUpdated.

startExport stores a QUEUED job and wakes this process's export worker
(sigma_graphql/server/export_worker.py), which runs it in the background; any process may take
it over if this one stops. A job is its creator's alone: another user, even an ADMIN, gets null
from exportJob, never sees it in exportJobs and cannot subscribe to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import strawberry

from db import export_jobs
from db.drivers.mongo import MongoDoc
from resolvers.common import parse_id, user_error
from resolvers.rules.exports import validate_start
from schema.types.enums import UserErrorCode
from schema.types.exports import (
    ExportJob,
    ExportJobConnection,
    ExportJobEdge,
    ExportJobPayload,
    StartExportInput,
    job_cursor,
    job_from_doc,
)
from schema.types.pagination import check_first, decode_keyset, page_info
from sigma_graphql.core import errors
from sigma_graphql.core.i18n import register, t
from sigma_graphql.permissions import EXPORT_ACCESS
from sigma_graphql.request.context import Info

register(
    {
        "export.too_many": (
            "Paling banyak {max} ekspor dapat berjalan bersamaan; tunggu hingga salah satu selesai",
            "At most {max} exports can run at once; wait until one finishes",
        ),
    }
)


async def start_export(info: Info, data: StartExportInput) -> ExportJobPayload:
    ctx = info.context
    viewer = ctx.viewer
    assert viewer.user_id is not None  # staff only (ROOT_ACCESS)
    if viewer.audience not in EXPORT_ACCESS[data.kind.value]:
        problem = user_error(["input", "kind"], "forbidden", UserErrorCode.FORBIDDEN)
        return ExportJobPayload(job=None, user_errors=[problem])
    stored, problems = validate_start(viewer, data)
    if problems:
        return ExportJobPayload(job=None, user_errors=problems)
    settings = ctx.settings
    doc = export_jobs.new_job_doc(
        owner_id=viewer.user_id,
        kind=data.kind.value,
        fmt=data.format.value,
        delimiter=data.csv_delimiter.value,
        filter=stored,
        retention_s=settings.export_retention_s,
    )
    limit = settings.export_max_running_per_user
    # The slot first: a job document exists only once it may run.
    if not await export_jobs.take_slot(ctx.mongo, viewer.user_id, doc["_id"], limit):
        problem = user_error(None, "export.too_many", UserErrorCode.RATE_LIMITED, max=limit)
        return ExportJobPayload(job=None, user_errors=[problem])
    try:
        await export_jobs.insert(ctx.mongo, doc)
    except BaseException:
        await export_jobs.release_slot(ctx.mongo, viewer.user_id, doc["_id"])
        raise
    ctx.services.export_wakeup.set()
    return ExportJobPayload(job=job_from_doc(doc, settings), user_errors=[])


async def _own_job(info: Info, raw_id: str) -> MongoDoc | None:
    ctx = info.context
    job_id = parse_id(raw_id)
    if job_id is None:
        return None
    doc = await export_jobs.find(ctx.mongo, job_id)
    if doc is None or doc["owner_id"] != ctx.viewer.user_id:
        return None
    if doc["expires_at"] <= export_jobs.now_utc():
        return None  # expired: as good as deleted (clean-exports frees the space)
    return doc


async def export_job(info: Info, id: strawberry.ID) -> ExportJob | None:
    doc = await _own_job(info, id)
    return job_from_doc(doc, info.context.settings) if doc is not None else None


async def list_export_jobs(info: Info, first: int | None, after: str | None) -> ExportJobConnection:
    ctx = info.context
    n = check_first(first)
    key = decode_keyset(after)
    assert ctx.viewer.user_id is not None
    docs = await export_jobs.page(ctx.mongo, ctx.viewer.user_id, n + 1, key, export_jobs.now_utc())
    page = docs[:n]
    nodes = [job_from_doc(d, ctx.settings) for d in page]
    return ExportJobConnection(
        edges=[
            ExportJobEdge(cursor=job_cursor(d), node=j) for d, j in zip(page, nodes, strict=True)
        ],
        nodes=nodes,
        page_info=page_info(page, job_cursor, has_next=len(docs) > n, has_previous=key is not None),
    )


async def subscribe(info: Info, id: strawberry.ID) -> AsyncGenerator[ExportJob, None]:
    """The job's state now, then each update the worker publishes (throttled), until it ends.
    Only its creator may subscribe (NOT_FOUND for anyone else, as for a job that does not
    exist)."""
    ctx = info.context
    doc = await _own_job(info, id)
    if doc is None:
        raise errors.not_found(t("not_found"))
    updates = ctx.services.pubsub.subscribe(export_jobs.topic(doc["_id"]))
    pending = asyncio.ensure_future(anext(updates))
    try:
        # Subscribed (the generator runs up to its queue) before reading the job again, so an
        # update between the read and the first event is not lost.
        await asyncio.sleep(0)
        current = await export_jobs.find(ctx.mongo, doc["_id"]) or doc
        yield job_from_doc(current, ctx.settings)
        if current["status"] not in export_jobs.ACTIVE:
            return
        while True:
            message: MongoDoc = await pending
            pending = asyncio.ensure_future(anext(updates))
            if not await ctx.services.sockets.admit(ctx):
                continue  # withheld; an ended session has closed the socket
            yield job_from_doc(message, ctx.settings)
            if message["status"] not in export_jobs.ACTIVE:
                return
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
        await updates.aclose()
