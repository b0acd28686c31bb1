"""Monthly revenue logs and owner notifications (Cassandra); logs built from their rows, one
UMKM's pages of logs, and the nested fields.

Imports among users, umkm, financial and umkm_prefetch: see schema/types/users.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db import financial_logs as fl
from db.drivers.cassandra import Row
from loaders.financial import Page, PageKey, log_pages
from schema.types import umkm as umkm_types  # `umkm` names fields and parameters here
from schema.types import users
from schema.types.common import EMPTY_PAGE, PageInfo, UserError
from schema.types.enums import NotificationType
from schema.types.pagination import (
    check_first,
    cursor_int,
    decode_cursor,
    encode_cursor,
    page_info,
)
from schema.types.row_backed import RowField
from schema.types.scalars import Rupiah
from sigma_graphql.core import input_limits as limits
from sigma_graphql.permissions import can_read, can_read_owned
from sigma_graphql.request.context import Context, Info
from sigma_graphql.request.selection import selects

if TYPE_CHECKING:
    from schema.types.umkm import UMKM
    from schema.types.users import User

LazyUMKM = Annotated["UMKM", strawberry.lazy("schema.types.umkm")]
LazyUser = Annotated["User", strawberry.lazy("schema.types.users")]


@strawberry.type(description="One month of revenue for one UMKM. Readable by staff and the owner.")
class FinancialLog:
    umkm_id: strawberry.ID
    tahun: int
    bulan: int
    omzet: Rupiah
    jumlah_karyawan: int
    catatan: str | None
    tanggal_input: datetime
    is_flagged: bool
    flag_reason: str | None
    flagged_by_name: str | None
    flagged_at: datetime | None
    umkm_uuid: strawberry.Private[uuid.UUID]
    input_by_id: strawberry.Private[uuid.UUID | None]
    flagged_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def umkm(self, info: Info) -> LazyUMKM | None:
        return await umkm_types.load_umkm(info.context, self.umkm_uuid)

    @strawberry.field(description="Staff.")
    async def input_by(self, info: Info) -> LazyUser | None:
        return await _staff_user(info.context, "FinancialLog.inputBy", self.input_by_id)

    @strawberry.field(description="Staff; owners see flaggedByName.")
    async def flagged_by(self, info: Info) -> LazyUser | None:
        return await _staff_user(info.context, "FinancialLog.flaggedBy", self.flagged_by_id)


@strawberry.type
class FinancialLogEdge:
    cursor: str
    node: FinancialLog


@strawberry.type
class FinancialLogConnection:
    edges: list[FinancialLogEdge]
    nodes: list[FinancialLog]
    page_info: PageInfo


@strawberry.type
class Notification:
    id: strawberry.ID
    type: NotificationType
    title: str
    message: str
    tahun: int | None
    bulan: int | None
    is_read: bool
    created_at: datetime
    umkm_uuid: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def umkm(self, info: Info) -> LazyUMKM | None:
        return await umkm_types.load_umkm(info.context, self.umkm_uuid)


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    nodes: list[Notification]
    page_info: PageInfo


@strawberry.type
class FinancialLogPayload:
    log: FinancialLog | None
    user_errors: list[UserError]


@strawberry.type
class NotificationPayload:
    notification: Notification | None
    user_errors: list[UserError]


@strawberry.input
class SubmitFinancialLogInput:
    umkm_id: strawberry.ID
    tahun: int
    bulan: int
    omzet: Rupiah
    jumlah_karyawan: int
    catatan: str | None = None


@strawberry.input
class FlagInput:
    umkm_id: strawberry.ID
    tahun: int
    bulan: int
    reason: str


# ------------------------------------------------------------------ built from rows


def log_from_row(row: Row) -> FinancialLog:
    """The log of one row (of financial_logs, with at least umkm_id, tahun, bulan and omzet)."""
    return RowLog(row)


class RowLog(FinancialLog):
    """A FinancialLog that converts its row's columns when they are read
    (schema/types/row_backed.py), so a page of logs does not convert the columns its document
    does not select."""

    __slots__ = ("row",)

    umkm_id = RowField.text("umkm_id")
    tahun = RowField[int]("tahun")
    bulan = RowField[int]("bulan")
    omzet = RowField.whole("omzet")  # a Rupiah
    jumlah_karyawan = RowField.whole("jumlah_karyawan", optional=True)
    catatan = RowField.optional("catatan")
    tanggal_input = RowField(read=lambda log: fl.utc(log.row.get("tanggal_input")) or datetime.min)
    is_flagged = RowField.flag("is_flagged")
    flag_reason = RowField.optional("flag_reason")
    flagged_by_name = RowField.optional("flagged_by_name")
    flagged_at = RowField(read=lambda log: fl.utc(log.row.get("flagged_at")))
    umkm_uuid = RowField[uuid.UUID]("umkm_id")
    input_by_id = RowField.optional("input_by")
    flagged_by_id = RowField.optional("flagged_by")

    def __init__(self, row: Row) -> None:  # no super(): nothing to copy
        self.row = row


def logs_from_rows(rows: list[Row]) -> list[FinancialLog]:
    # RowLog(row) without its Python-level __init__ per row (a staff page builds 1,200 logs):
    # object.__new__ and the slot's setter are C calls.
    new = object.__new__
    logs: list[FinancialLog] = []
    for row in rows:
        log = new(RowLog)
        log.row = row
        logs.append(log)
    return logs


# ------------------------------------------------------------------ one UMKM's pages of logs


def _log_cursor(row: Row) -> str:
    return encode_cursor({"t": row["tahun"], "b": row["bulan"]})


class RowLogConnection(FinancialLogConnection):
    """A page of logs whose `nodes` are built from its rows when they are read
    (schema/types/row_backed.py): an inline plan completes them from the rows without building
    a FinancialLog per row (a staff page has 1,200)."""

    __slots__ = ("row",)

    edges = RowField[list[FinancialLogEdge]]("edges")
    nodes = RowField.nested_rows(RowLog, "rows", logs_from_rows)
    page_info = RowField[PageInfo]("page_info")

    def __init__(self, rows: list[Row], edges: list[FinancialLogEdge], info: PageInfo) -> None:
        self.row = {"rows": rows, "edges": edges, "page_info": info}


def page_connection(page: Page, with_edges: bool) -> FinancialLogConnection:
    """One UMKM's page of logs; a cursor per edge only when edges are selected (pageInfo's
    two cursors always)."""
    rows = page.rows
    edges = (
        [
            FinancialLogEdge(cursor=_log_cursor(r), node=n)
            for r, n in zip(rows, logs_from_rows(rows), strict=True)
        ]
        if with_edges
        else []
    )
    info = page_info(rows, _log_cursor, has_next=page.has_next, has_previous=False)
    return RowLogConnection(rows, edges, info)


LogArgs = tuple[int | None, int | None, str | None]  # financialLogs(tahun, first, after)


def log_page_keys(ctx: Context, umkms: Sequence[UMKM], args: LogArgs) -> list[PageKey | None]:
    """The loader key of each UMKM's financialLogs, None where the viewer may not see the logs
    (empty list). Bad `first`/`after` raise bad_input."""
    tahun, first, after = args
    limit = check_first(first, default=24)
    data = decode_cursor(after)
    keyset = None
    if data is not None:
        keyset = (
            cursor_int(data, "t", *limits.bounds(limits.YEAR)),
            cursor_int(data, "b", 1, 12),
        )
    readable = can_read_owned(ctx.viewer, "UMKM.financialLogs", [u.owner_id for u in umkms])
    return [
        PageKey(u.umkm_id, tahun, limit, keyset) if ok else None
        for u, ok in zip(umkms, readable, strict=True)
    ]


def log_page_key(ctx: Context, umkm: UMKM, args: LogArgs) -> PageKey | None:
    return log_page_keys(ctx, [umkm], args)[0]


def empty_logs() -> FinancialLogConnection:
    return FinancialLogConnection(edges=[], nodes=[], page_info=EMPTY_PAGE)


# ------------------------------------------------------------------ nested fields


def umkm_financial_logs(
    info: Info, umkm: UMKM, tahun: int | None, first: int | None, after: str | None
) -> FinancialLogConnection | Awaitable[FinancialLogConnection]:
    """UMKM.financialLogs. Synchronous when the list resolver prefetched this page
    (schema/types/umkm_prefetch.py): no coroutine per UMKM; otherwise one DataLoader load."""
    args = (tahun, first, after)
    found = umkm.prefetched_logs
    if found is not None and found[0] == args:
        conn: FinancialLogConnection = found[1]
        return conn
    return _load_logs(info, umkm, args)


async def _load_logs(info: Info, umkm: UMKM, args: LogArgs) -> FinancialLogConnection:
    ctx = info.context
    key = log_page_key(ctx, umkm, args)
    if key is None:
        return empty_logs()
    page = await ctx.loaders.get(log_pages).load(key)
    return page_connection(page, selects(info, "edges"))


async def _staff_user(ctx: Context, field: str, user_id: uuid.UUID | None) -> User | None:
    if not can_read(ctx.viewer, field):
        return None
    return await users.load_user(ctx, user_id)
