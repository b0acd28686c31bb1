"""Owner notifications: list, unread count, mark read, subscription.

Ids are the timeuuid of the stored row as a string: stable, and what markNotificationRead takes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import UTC
from typing import Any

import strawberry
from cassandra.util import datetime_from_uuid1

from db import notification_inbox as inbox
from db.notifications import topic
from resolvers.common import parse_id, user_error
from schema.types.common import CountPayload
from schema.types.enums import NotificationType, UserErrorCode
from schema.types.financial import (
    Notification,
    NotificationConnection,
    NotificationEdge,
    NotificationPayload,
)
from schema.types.pagination import (
    check_first,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    page_info,
)
from sigma_graphql.core.errors import bad_input
from sigma_graphql.core.i18n import register, t
from sigma_graphql.request.context import Info
from sigma_graphql.request.selection import selects

register(
    {
        "notification.since_invalid": (
            "since harus id notifikasi yang pernah diterima",
            "since must be the id of a notification received before",
        )
    }
)


def _owner(info: Info) -> uuid.UUID:
    user_id = info.context.viewer.user_id
    assert user_id is not None  # ROOT_ACCESS admits only signed-in owners here
    return user_id  # type: ignore[no-any-return]


def notification_from_row(row: dict[str, Any]) -> Notification:
    nid: uuid.UUID = row["notification_id"]
    created = datetime_from_uuid1(nid)
    return Notification(
        id=strawberry.ID(str(nid)),
        type=NotificationType(row["type"]),
        title=row["title"],
        message=row["message"],
        tahun=row.get("tahun"),
        bulan=row.get("bulan"),
        is_read=bool(row.get("is_read")),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        umkm_uuid=row.get("umkm_id"),
    )


def _timeuuid(value: str) -> uuid.UUID | None:
    parsed = parse_id(value)
    return parsed if parsed is not None and parsed.version == 1 else None


async def list_notifications(
    info: Info, unread_only: bool | None, first: int | None, after: str | None
) -> NotificationConnection:
    ctx = info.context
    limit = check_first(first)
    data = decode_cursor(after)
    before = None
    if data is not None:
        before = cursor_uuid(data, "n", version=1)
    rows = await inbox.page(ctx.cassandra, _owner(info), limit + 1, before, bool(unread_only))
    nodes = [notification_from_row(r) for r in rows[:limit]]
    # A cursor per edge only when edges are asked for; pageInfo encodes its two when selected.
    edges = (
        [NotificationEdge(cursor=_cursor(n), node=n) for n in nodes]
        if selects(info, "edges")
        else []
    )
    return NotificationConnection(
        edges=edges,
        nodes=nodes,
        page_info=page_info(nodes, _cursor, has_next=len(rows) > limit, has_previous=False),
    )


def _cursor(notification: Notification) -> str:
    return encode_cursor({"n": str(notification.id)})


async def unread_count(info: Info) -> int:
    return await inbox.unread_count(info.context.cassandra, _owner(info))


async def mark_read(info: Info, id: strawberry.ID) -> NotificationPayload:
    ctx = info.context
    owner = _owner(info)
    nid = _timeuuid(id)
    if nid is None or not await inbox.mark_read(ctx.cassandra, owner, nid):
        problem = user_error(["id"], "not_found", UserErrorCode.NOT_FOUND)
        return NotificationPayload(notification=None, user_errors=[problem])
    row = await inbox.get(ctx.cassandra, owner, nid)
    return NotificationPayload(
        notification=notification_from_row(row) if row else None, user_errors=[]
    )


async def mark_all_read(info: Info) -> CountPayload:
    count = await inbox.mark_all_read(info.context.cassandra, _owner(info))
    return CountPayload(count=count, user_errors=[])


# Stored notifications a reconnecting subscriber receives at most (newest missed ones beyond
# this are in `notifications`, the list, which stays the record).
CATCH_UP_MAX = 1000


async def subscribe(
    info: Info, since: strawberry.ID | None = None
) -> AsyncGenerator[Notification, None]:
    """The viewer's own topic only; the session is checked on connection (app.on_ws_connect)
    and again before each delivery (an ended session closes the socket).

    With `since` (the last notification id the client saw) the subscription first sends the
    stored notifications newer than it, oldest first, then live ones: the live subscription is
    registered before the read, and an id already sent (or not newer than `since`) is not sent
    again, so nothing falls between the two and nothing comes twice (issue 17)."""
    ctx = info.context
    owner = _owner(info)
    after = None
    if since is not None:
        after = _timeuuid(since)
        if after is None:
            raise bad_input(t("notification.since_invalid"), argument="since")
    with ctx.services.pubsub.open(topic(owner)) as live:
        sent: set[uuid.UUID] = set()
        if after is not None:
            for row in await inbox.newer_than(ctx.cassandra, owner, after, CATCH_UP_MAX):
                if not await ctx.services.sockets.admit(ctx):
                    continue
                sent.add(row["notification_id"])
                yield notification_from_row(row)
        while True:
            row = await live.get()
            nid: uuid.UUID = row["notification_id"]
            # Sent by the catch-up already, or not newer than what the client saw (timeuuids
            # order by time first).
            if nid in sent or (after is not None and (nid == after or nid.time < after.time)):
                continue
            if not await ctx.services.sockets.admit(ctx):
                continue  # withheld; an ended session has closed the socket, which ends this loop
            ctx.fresh_loaders()  # one context serves many events: no stale cached documents
            yield notification_from_row(row)
