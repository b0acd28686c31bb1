"""Monthly revenue logs and owner notifications (Cassandra)."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from schema.types.common import PageInfo, UserError
from schema.types.enums import NotificationType
from schema.types.scalars import Rupiah
from schema.types.umkm import UMKM
from schema.types.users import User


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
    async def umkm(self, info: Info) -> UMKM | None:
        from resolvers.financial import log_umkm

        return await log_umkm(info, self)

    @strawberry.field(description="Staff.")
    async def input_by(self, info: Info) -> User | None:
        from resolvers.financial import log_input_by

        return await log_input_by(info, self)

    @strawberry.field(description="Staff; owners see flaggedByName.")
    async def flagged_by(self, info: Info) -> User | None:
        from resolvers.financial import log_flagged_by

        return await log_flagged_by(info, self)


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
    async def umkm(self, info: Info) -> UMKM | None:
        from resolvers.notifications import notification_umkm

        return await notification_umkm(info, self)


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
