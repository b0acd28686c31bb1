"""Monthly revenue logs: submit, delete, flag/unflag, lists, nested fields.

Writes go through db/writes/financial.py, which states and follows the cross-database order;
reads of many UMKMs' months go through loaders/financial.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import strawberry
from strawberry.types import Info

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.cassandra import Row
from db.drivers.mongo import MongoDoc
from db.writes import financial as financial_writes
from loaders.financial import Page, PageKey, log_by_key, log_pages
from loaders.umkm import umkm_by_id
from resolvers.common import parse_id, user_error
from resolvers.rules.financial import Errors, check_period, reason_errors, validate_submit
from resolvers.views import load_user, umkm_from_doc
from schema.types.common import EMPTY_PAGE, OkPayload
from schema.types.enums import UserErrorCode
from schema.types.financial import (
    FinancialLog,
    FinancialLogConnection,
    FinancialLogEdge,
    FinancialLogPayload,
    FlagInput,
    SubmitFinancialLogInput,
)
from schema.types.pagination import (
    check_first,
    cursor_int,
    decode_cursor,
    encode_cursor,
    page_info,
)
from schema.types.scalars import Rupiah
from schema.types.umkm import UMKM
from schema.types.users import User
from sigma_graphql.core import errors
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.i18n import register, t
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.permissions import can_read, can_see_umkm
from sigma_graphql.request.context import Context
from sigma_graphql.request.selection import selects

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
# Flag times in cursors: 1970 up to the year 9999 (what datetime holds).
MAX_MS = (datetime(9999, 12, 31, tzinfo=UTC) - EPOCH) // MS

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
    viewer: Viewer = ctx.viewer
    lang = ctx.lang
    umkm_id = parse_id(raw_id)
    doc = await umkm_profiles.find_by_id(ctx.mongo, umkm_id) if umkm_id else None
    field = [*path, "umkmId"]
    if doc is None or doc.get("is_deleted"):
        return None, [user_error(field, "not_found", UserErrorCode.NOT_FOUND, lang)]
    if not viewer.is_staff and not (owner_may and viewer.owns(doc.get("owner_id"))):
        return None, [user_error(field, "fin_not_owner", UserErrorCode.FORBIDDEN, lang)]
    if (doc.get("legalitas") or {}).get("status_verifikasi") != "VERIFIED":
        return None, [user_error(field, "fin_umkm_not_verified", UserErrorCode.FORBIDDEN, lang)]
    return doc, []


def log_from_row(row: Row, umkm_id: strawberry.ID | None = None) -> FinancialLog:
    """`umkm_id`: the row's umkm_id as a string, when the caller already has it."""
    return FinancialLog(
        umkm_id=umkm_id if umkm_id is not None else strawberry.ID(str(row["umkm_id"])),
        tahun=row["tahun"],
        bulan=row["bulan"],
        omzet=Rupiah(int(row["omzet"] or 0)),
        jumlah_karyawan=int(row.get("jumlah_karyawan") or 0),
        catatan=row.get("catatan"),
        tanggal_input=fl.utc(row.get("tanggal_input")) or datetime.min,
        is_flagged=bool(row.get("is_flagged")),
        flag_reason=row.get("flag_reason"),
        flagged_by_name=row.get("flagged_by_name"),
        flagged_at=fl.utc(row.get("flagged_at")),
        umkm_uuid=row["umkm_id"],
        input_by_id=row.get("input_by"),
        flagged_by_id=row.get("flagged_by"),
    )


def logs_from_rows(rows: list[Row]) -> list[FinancialLog]:
    """log_from_row for a list whose rows mostly share an UMKM (a page of one UMKM's logs):
    each distinct umkm_id is turned into a string once (str(UUID) costs about as much as the
    rest of a log object)."""
    ids: dict[uuid.UUID, strawberry.ID] = {}
    logs = []
    for row in rows:
        raw = row["umkm_id"]
        umkm_id = ids.get(raw)
        if umkm_id is None:
            umkm_id = ids[raw] = strawberry.ID(str(raw))
        logs.append(log_from_row(row, umkm_id))
    return logs


async def submit_log(info: Info, input: SubmitFinancialLogInput) -> FinancialLogPayload:
    ctx = info.context
    problems = validate_submit(input, ctx.lang)
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
        by=ctx.viewer.user_id,
    )
    return FinancialLogPayload(log=log_from_row(done.row), user_errors=[])


async def delete_log(info: Info, umkm_id: strawberry.ID, tahun: int, bulan: int) -> OkPayload:
    ctx = info.context
    uid = parse_id(umkm_id)
    removed = await financial_writes.delete(ctx.dbs, uid, tahun, bulan) if uid else None
    if removed is None:
        return OkPayload(
            ok=False,
            user_errors=[
                user_error(["bulan"], "fin_log_missing", UserErrorCode.NOT_FOUND, ctx.lang)
            ],
        )
    return OkPayload(ok=True, user_errors=[])


async def _flag_target(
    info: Info, raw_id: str, tahun: int, bulan: int, path: list[str]
) -> tuple[MongoDoc | None, Errors]:
    ctx = info.context
    problems = check_period(tahun, bulan, path, ctx.lang)
    if problems:
        return None, problems
    uid = parse_id(raw_id)
    doc = await umkm_profiles.find_by_id(ctx.mongo, uid) if uid else None
    if doc is None:
        return None, [user_error([*path, "umkmId"], "not_found", UserErrorCode.NOT_FOUND, ctx.lang)]
    return doc, []


def _flag_outcome(outcome: str, row: Row | None, path: list[str], lang: str) -> FinancialLogPayload:
    if outcome == "ok" and row is not None:
        return FinancialLogPayload(log=log_from_row(row), user_errors=[])
    if outcome == "already":
        problem = user_error(
            [*path, "bulan"], "fin_already_flagged", UserErrorCode.INVALID_STATE, lang
        )
    elif outcome == "not_flagged":
        problem = user_error([*path, "bulan"], "fin_not_flagged", UserErrorCode.INVALID_STATE, lang)
    else:
        problem = user_error([*path, "bulan"], "fin_log_missing", UserErrorCode.NOT_FOUND, lang)
    return FinancialLogPayload(log=None, user_errors=[problem])


async def flag_log(info: Info, input: FlagInput) -> FinancialLogPayload:
    ctx = info.context
    path = ["input"]
    reason = input.reason.strip()
    # The reason and the period are checked before the UMKM is read.
    problems = check_period(input.tahun, input.bulan, path, ctx.lang)
    problems += reason_errors(input.reason, [*path, "reason"], ctx.lang)
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
    return _flag_outcome(outcome, row, path, ctx.lang)


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
    return _flag_outcome(outcome, row, [], ctx.lang)


def _connection(rows: list[Row], cursors: list[str], has_next: bool) -> FinancialLogConnection:
    nodes = logs_from_rows(rows)
    return FinancialLogConnection(
        edges=[FinancialLogEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=page_info(cursors, str, has_next=has_next, has_previous=False),
    )


def _log_cursor(row: Row) -> str:
    return encode_cursor({"t": row["tahun"], "b": row["bulan"]})


def page_connection(page: Page, with_edges: bool) -> FinancialLogConnection:
    """One UMKM's page of logs; a cursor per edge only when edges are selected (pageInfo's
    two cursors always)."""
    rows = page.rows
    nodes = logs_from_rows(rows)
    edges = (
        [FinancialLogEdge(cursor=_log_cursor(r), node=n) for r, n in zip(rows, nodes, strict=True)]
        if with_edges
        else []
    )
    return FinancialLogConnection(
        edges=edges,
        nodes=nodes,
        page_info=page_info(rows, _log_cursor, has_next=page.has_next, has_previous=False),
    )


async def flagged_logs(
    info: Info, tahun: int, first: int | None, after: str | None
) -> FinancialLogConnection:
    ctx = info.context
    limit = check_first(first, ctx.lang)
    data = decode_cursor(after, ctx.lang)
    keyset = None
    if data is not None:
        try:
            keyset = (
                EPOCH + timedelta(milliseconds=cursor_int(data, "at", 0, MAX_MS, ctx.lang)),
                uuid.UUID(str(data.get("u"))),
                cursor_int(data, "b", 1, 12, ctx.lang),
            )
        except ValueError:
            raise errors.bad_input(t("bad_cursor", ctx.lang), argument="after") from None
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
                encode_cursor(
                    {"at": (at - EPOCH) // MS, "u": str(entry["umkm_id"]), "b": entry["bulan"]}
                )
            )
        if has_next or len(entries) <= limit:
            break
    return _connection(rows, cursors, has_next)


LogArgs = tuple[int | None, int | None, str | None]  # financialLogs(tahun, first, after)


def log_page_key(ctx: Context, umkm: UMKM, args: LogArgs) -> PageKey | None:
    """The loader key for UMKM.financialLogs, or None when the viewer may not see the logs
    (empty list). Bad `first`/`after` raise bad_input."""
    tahun, first, after = args
    limit = check_first(first, ctx.lang, default=24)
    viewer: Viewer = ctx.viewer
    if not can_read(viewer, "UMKM.financialLogs", owns=viewer.owns(umkm.owner_id)):
        return None
    data = decode_cursor(after, ctx.lang)
    keyset = None
    if data is not None:
        keyset = (
            cursor_int(data, "t", *limits.bounds(limits.YEAR), ctx.lang),
            cursor_int(data, "b", 1, 12, ctx.lang),
        )
    return PageKey(umkm.umkm_id, tahun, limit, keyset)


def empty_logs() -> FinancialLogConnection:
    return FinancialLogConnection(edges=[], nodes=[], page_info=EMPTY_PAGE)


def umkm_financial_logs(
    info: Info, umkm: UMKM, tahun: int | None, first: int | None, after: str | None
) -> FinancialLogConnection | Awaitable[FinancialLogConnection]:
    """Synchronous when the list resolver prefetched this page (resolvers/umkm_prefetch.py):
    no coroutine per UMKM; otherwise one DataLoader load."""
    args = (tahun, first, after)
    found = umkm.prefetched_logs
    if found is not None and found[0] == args:
        conn: FinancialLogConnection = found[1]
        return conn
    return _load_logs(info, umkm, args)


async def _load_logs(info: Info, umkm: UMKM, args: LogArgs) -> FinancialLogConnection:
    ctx: Context = info.context
    key = log_page_key(ctx, umkm, args)
    if key is None:
        return empty_logs()
    page = await ctx.loaders.get(log_pages).load(key)
    return page_connection(page, selects(info, "edges"))


async def log_umkm(info: Info, log: FinancialLog) -> UMKM | None:
    ctx = info.context
    doc = await ctx.loaders.get(umkm_by_id).load(log.umkm_uuid)
    if doc is None or not can_see_umkm(ctx.viewer, doc):
        return None
    return umkm_from_doc(doc, ctx.viewer)


async def _staff_user(info: Info, field: str, user_id: uuid.UUID | None) -> User | None:
    ctx = info.context
    if not can_read(ctx.viewer, field):
        return None
    return await load_user(ctx, user_id)


async def log_input_by(info: Info, log: FinancialLog) -> User | None:
    return await _staff_user(info, "FinancialLog.inputBy", log.input_by_id)


async def log_flagged_by(info: Info, log: FinancialLog) -> User | None:
    return await _staff_user(info, "FinancialLog.flaggedBy", log.flagged_by_id)
