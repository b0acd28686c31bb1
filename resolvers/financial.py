"""Monthly revenue logs: submit, delete, flag/unflag, lists, nested fields.

Writes go through db/writes/financial.py, which states and follows the cross-database order;
reads of many UMKMs' months go through loaders/financial.py.
"""

from __future__ import annotations

import strawberry

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.cassandra import Row
from db.drivers.mongo import MongoDoc
from db.writes import financial as financial_writes
from loaders.financial import log_by_key
from resolvers.common import parse_id, user_error
from resolvers.rules.financial import Errors, check_period, reason_errors, validate_submit
from schema.types.common import OkPayload, UserError
from schema.types.enums import UserErrorCode
from schema.types.financial import (
    FinancialLogConnection,
    FinancialLogEdge,
    FinancialLogPayload,
    FlagInput,
    SubmitFinancialLogInput,
    log_from_row,
    logs_from_rows,
)
from schema.types.pagination import (
    check_first,
    cursor_int,
    cursor_moment,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    page_info,
)
from sigma_graphql.core.clock import to_ms
from sigma_graphql.core.i18n import register
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.request.context import Info

register(
    {
        "fin_umkm_not_verified": (
            "Laporan hanya dapat dikirim untuk UMKM yang sudah terverifikasi",
            "Reports can only be submitted for a verified UMKM",
        ),
        "fin_not_owner": (
            "Anda hanya dapat mengirim laporan untuk UMKM milik Anda",
            "You can only report for your own UMKM",
        ),
        "fin_already_flagged": (
            "Laporan bulan ini sudah ditandai",
            "This month is flagged already",
        ),
        "fin_not_flagged": ("Laporan bulan ini tidak sedang ditandai", "This month is not flagged"),
        "fin_log_missing": (
            "Laporan untuk bulan tersebut tidak ditemukan",
            "No report for that month",
        ),
    }
)


async def _umkm_for_write(
    info: Info, raw_id: str, path: list[str], *, owner_may: bool
) -> tuple[MongoDoc | None, Errors]:
    """The not deleted, VERIFIED UMKM the viewer may write for, or the userError saying why not."""
    ctx = info.context
    umkm_id = parse_id(raw_id)
    doc = await umkm_profiles.find_by_id(ctx.mongo, umkm_id) if umkm_id else None
    refusal = write_refusal(ctx.viewer, doc, [*path, "umkmId"], owner_may=owner_may)
    if refusal is not None:
        return None, [refusal]
    return doc, []


def write_refusal(
    viewer: Viewer, doc: MongoDoc | None, field: list[str], *, owner_may: bool
) -> UserError | None:
    """Why `viewer` may not write months of the UMKM `doc` (None: it may). Shared by
    submitFinancialLog and importFinancialLogs (resolvers/imports.py). An API key writes only
    for its own UMKM, and only while that UMKM still belongs to the key's owner."""
    if doc is None or doc.get("is_deleted"):
        return user_error(field, "not_found", UserErrorCode.NOT_FOUND)
    if viewer.is_api_key:
        allowed = doc["_id"] == viewer.api_key_umkm_id and (
            doc.get("owner_id") is not None and doc.get("owner_id") == viewer.on_behalf_of
        )
    else:
        allowed = viewer.is_staff or (owner_may and viewer.owns(doc.get("owner_id")))
    if not allowed:
        return user_error(field, "fin_not_owner", UserErrorCode.FORBIDDEN)
    if (doc.get("legalitas") or {}).get("status_verifikasi") != "VERIFIED":
        return user_error(field, "fin_umkm_not_verified", UserErrorCode.FORBIDDEN)
    return None


async def submit_log(info: Info, input: SubmitFinancialLogInput) -> FinancialLogPayload:
    ctx = info.context
    problems = validate_submit(input)
    if problems:
        return FinancialLogPayload(log=None, user_errors=problems)
    doc, problems = await _umkm_for_write(info, input.umkm_id, ["input"], owner_may=True)
    if doc is None:
        return FinancialLogPayload(log=None, user_errors=problems)
    done = await financial_writes.submit(
        ctx.dbs,
        doc,
        tahun=input.tahun,
        bulan=input.bulan,
        omzet=int(input.omzet),
        jumlah_karyawan=input.jumlah_karyawan,
        catatan=input.catatan,
        by=ctx.viewer.actor_id,
    )
    return FinancialLogPayload(log=log_from_row(done.row), user_errors=[])


async def delete_log(info: Info, umkm_id: strawberry.ID, tahun: int, bulan: int) -> OkPayload:
    ctx = info.context
    uid = parse_id(umkm_id)
    removed = await financial_writes.delete(ctx.dbs, uid, tahun, bulan) if uid else None
    if removed is None:
        return OkPayload(
            ok=False,
            user_errors=[user_error(["bulan"], "fin_log_missing", UserErrorCode.NOT_FOUND)],
        )
    return OkPayload(ok=True, user_errors=[])


async def _flag_target(
    info: Info, raw_id: str, tahun: int, bulan: int, path: list[str]
) -> tuple[MongoDoc | None, Errors]:
    ctx = info.context
    problems = check_period(tahun, bulan, path)
    if problems:
        return None, problems
    uid = parse_id(raw_id)
    doc = await umkm_profiles.find_by_id(ctx.mongo, uid) if uid else None
    if doc is None:
        return None, [user_error([*path, "umkmId"], "not_found", UserErrorCode.NOT_FOUND)]
    return doc, []


def _flag_outcome(outcome: str, row: Row | None, path: list[str]) -> FinancialLogPayload:
    if outcome == "ok" and row is not None:
        return FinancialLogPayload(log=log_from_row(row), user_errors=[])
    if outcome == "already":
        problem = user_error([*path, "bulan"], "fin_already_flagged", UserErrorCode.INVALID_STATE)
    elif outcome == "not_flagged":
        problem = user_error([*path, "bulan"], "fin_not_flagged", UserErrorCode.INVALID_STATE)
    else:
        problem = user_error([*path, "bulan"], "fin_log_missing", UserErrorCode.NOT_FOUND)
    return FinancialLogPayload(log=None, user_errors=[problem])


async def flag_log(info: Info, input: FlagInput) -> FinancialLogPayload:
    ctx = info.context
    path = ["input"]
    reason = input.reason.strip()
    # The reason and the period are checked before the UMKM is read.
    problems = check_period(input.tahun, input.bulan, path)
    problems += reason_errors(input.reason, [*path, "reason"])
    if problems:
        return FinancialLogPayload(log=None, user_errors=problems)
    doc, problems = await _flag_target(info, input.umkm_id, input.tahun, input.bulan, path)
    if doc is None or problems:
        return FinancialLogPayload(log=None, user_errors=problems)
    outcome, row = await financial_writes.flag(
        ctx.dbs,
        ctx.services.pubsub,
        doc,
        tahun=input.tahun,
        bulan=input.bulan,
        reason=reason,
        by=ctx.viewer.user_id,
        by_name=ctx.viewer.nama,
    )
    return _flag_outcome(outcome, row, path)


async def unflag_log(
    info: Info, umkm_id: strawberry.ID, tahun: int, bulan: int
) -> FinancialLogPayload:
    ctx = info.context
    doc, problems = await _flag_target(info, umkm_id, tahun, bulan, [])
    if doc is None:
        return FinancialLogPayload(log=None, user_errors=problems)
    outcome, row = await financial_writes.unflag(
        ctx.dbs, ctx.services.pubsub, doc, tahun=tahun, bulan=bulan, by_name=ctx.viewer.nama
    )
    return _flag_outcome(outcome, row, [])


def _connection(rows: list[Row], cursors: list[str], has_next: bool) -> FinancialLogConnection:
    nodes = logs_from_rows(rows)
    return FinancialLogConnection(
        edges=[FinancialLogEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=page_info(cursors, str, has_next=has_next, has_previous=False),
    )


async def flagged_logs(
    info: Info, tahun: int, first: int | None, after: str | None
) -> FinancialLogConnection:
    ctx = info.context
    limit = check_first(first)
    data = decode_cursor(after)
    keyset = None
    if data is not None:
        keyset = (
            cursor_moment(data, "at"),
            cursor_uuid(data, "u"),
            cursor_int(data, "b", 1, 12),
        )
    rows: list[Row] = []
    cursors: list[str] = []
    has_next = False
    # Entries whose log was unflagged or deleted by a crashed write are skipped, so read on
    # until the page is full or the index is exhausted.
    while True:
        entries = await fl.flagged_page(ctx.cassandra, tahun, limit + 1, keyset)
        loader = ctx.loaders.get(log_by_key)
        logs = await loader.load_many([(e["umkm_id"], e["tahun"], e["bulan"]) for e in entries])
        for entry, log in zip(entries, logs, strict=True):
            at = fl.utc(entry["flagged_at"])
            assert at is not None
            keyset = (entry["flagged_at"], entry["umkm_id"], entry["bulan"])
            if log is None or not log.get("is_flagged") or fl.utc(log.get("flagged_at")) != at:
                continue
            if len(rows) == limit:
                has_next = True
                break
            rows.append(log)
            cursors.append(
                encode_cursor({"at": to_ms(at), "u": str(entry["umkm_id"]), "b": entry["bulan"]})
            )
        if has_next or len(entries) <= limit:
            break
    return _connection(rows, cursors, has_next)
