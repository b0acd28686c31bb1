"""Owner notifications: list, unread count, mark read, subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers._todo import todo
from schema.common import CountPayload
from schema.financial import Notification, NotificationConnection, NotificationPayload
from schema.umkm import UMKM


async def list_notifications(
    info: Info, unread_only: bool | None, first: int | None, after: str | None
) -> NotificationConnection:
    todo("list_notifications")


async def unread_count(info: Info) -> int:
    todo("unread_count")


async def mark_read(info: Info, id: strawberry.ID) -> NotificationPayload:
    todo("mark_read")


async def mark_all_read(info: Info) -> CountPayload:
    todo("mark_all_read")


async def notification_umkm(info: Info, notification: Notification) -> UMKM | None:
    todo("notification_umkm")


async def subscribe(info: Info) -> AsyncGenerator[Notification, None]:
    todo("subscribe")
    yield  # pragma: no cover
