"""Subscriptions end with their session (issue 12, finding 7).

Logout, password reset, suspension, deletion and expiry each close the viewer's open sockets
with code 4401, over real WebSockets (graphql-transport-ws), on another API process than the one
that ended the session:
- `delivery`: a server that looks the session up before every delivery and never sweeps; the
  next event is not delivered and the socket closes;
- `idle`: a server that re-checks every open socket often; the socket closes with no event.
A socket whose session is still valid keeps receiving.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from db import sessions
from db.drivers.handles import Databases
from db.notifications import topic
from db.writes.umkm import TASK_TOPIC
from sigma_graphql.request.socket_sessions import CLOSE_SESSION_ENDED
from tests.auth_support import LOGOUT, REQUEST_RESET, RESET, mailed_token
from tests.mailbox import Mailbox
from tests.support import Account, Api, Factory, LiveServer
from tests.umkm_support import CREATE, valid_input

NOTIFICATION_ADDED = "subscription { notificationAdded { id type } }"
TASK_ADDED = "subscription { verificationTaskAdded { id status ownerEmail } }"
APPROVE = "mutation($id: ID!) { approveUmkm(id: $id) { umkm { id } userErrors { code } } }"
UPDATE_USER = """mutation($id: ID!, $s: AccountStatus!) {
  updateUser(id: $id, input: {accountStatus: $s}) { user { id } userErrors { code } } }"""
DELETE_USER = "mutation($id: ID!) { deleteUser(id: $id) { ok userErrors { code } } }"
NEW_PASSWORD = "kopi-luwak-baru-2025-aman"


@pytest.fixture(scope="module")
def delivery_server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(ws_session_cache_s=0.0, ws_session_sweep_s=3600.0)


@pytest.fixture(scope="module")
def idle_server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(ws_session_cache_s=5.0, ws_session_sweep_s=0.2)


class Socket:
    """One graphql-transport-ws connection with one subscription."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, server: LiveServer, token: str, query: str) -> Socket:
        protocol = Subprotocol("graphql-transport-ws")
        ws = await websockets.connect(server.ws_url, subprotocols=[protocol])
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        return cls(ws)

    async def close_code(self, wait_s: float = 30.0) -> int | None:
        """Reads until the server closes; the close code (None: still open after wait_s)."""
        try:
            async with asyncio.timeout(wait_s):
                while True:
                    self.received.append(json.loads(await self.ws.recv()))
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
        except TimeoutError:
            return None

    async def next_event(self, wait_s: float = 30.0) -> dict[str, Any]:
        async with asyncio.timeout(wait_s):
            while True:
                msg = json.loads(await self.ws.recv())
                if msg["type"] == "next":
                    return msg["payload"]  # type: ignore[no-any-return]


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(3000):  # a condition, not a timing threshold
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def _subscribed(server: LiveServer, name: str, count: int) -> None:
    await _until(lambda: server.services.pubsub.subscriber_count(name) == count, "subscribed")


# -- how each case ends a session (through the default server: another process) --------------


async def _logout(api: Api, victim: Account, *_: Any) -> None:
    assert (await api.as_(victim.token)(LOGOUT)).ok()["logout"]["ok"]


async def _reset(api: Api, victim: Account, _: Factory, mailbox: Mailbox) -> None:
    email = victim.doc["email"]
    await api(REQUEST_RESET, {"e": email})
    token = await mailed_token(mailbox, email)
    done = (await api(RESET, {"t": token, "p": NEW_PASSWORD})).ok()["resetPassword"]
    assert done["ok"], done


async def _suspend(api: Api, victim: Account, factory: Factory, _: Mailbox) -> None:
    admin = await factory.account("ADMIN")
    out = (await api.as_(admin.token)(UPDATE_USER, {"id": victim.gid, "s": "SUSPENDED"})).ok()
    assert out["updateUser"]["userErrors"] == []


async def _delete(api: Api, victim: Account, factory: Factory, _: Mailbox) -> None:
    admin = await factory.account("ADMIN")
    out = (await api.as_(admin.token)(DELETE_USER, {"id": victim.gid})).ok()
    assert out["deleteUser"]["ok"], out


async def _expire(api: Api, victim: Account, factory: Factory, _: Mailbox) -> None:
    # What 24 hours of waiting would do: the session's expiry is now in the past.
    dbs: Databases = factory.dbs
    past = datetime.now(UTC) - timedelta(seconds=1)
    await dbs.mongo[sessions.COLLECTION].update_many(
        {"user_id": victim.id}, {"$set": {"expires_at": past}}
    )


Ending = Callable[[Api, Account, Factory, Mailbox], Awaitable[None]]
CASES: dict[str, tuple[str, Ending]] = {
    "logout": ("UMKM_OWNER", _logout),
    "reset": ("UMKM_OWNER", _reset),
    "suspension": ("PEJABAT", _suspend),
    "deletion": ("UMKM_OWNER", _delete),
    "expiry": ("PEJABAT", _expire),
}


async def _event_for(server: LiveServer, role: str, owner: Account, factory: Factory) -> None:
    """Makes the server publish one event on the subscribed topic."""
    api = Api(server)
    if role == "UMKM_OWNER":  # approving a PENDING UMKM notifies its owner
        staff = await factory.account("PEJABAT")
        doc = await factory.umkm(owner, status="PENDING")
        out = (await api.as_(staff.token)(APPROVE, {"id": str(doc["_id"])})).ok()
        assert out["approveUmkm"]["userErrors"] == []
    else:  # a new PENDING UMKM is a new task for staff
        someone = await factory.account()
        (await api.as_(someone.token)(CREATE, {"input": valid_input()})).ok()


@pytest.mark.parametrize("case", list(CASES))
async def test_each_delivery_checks_the_current_session(
    case: str, delivery_server: LiveServer, api: Api, factory: Factory, mailbox: Mailbox
) -> None:
    role, end = CASES[case]
    victim, keeper = await factory.account(role), await factory.account(role)
    # The keeper's session stays valid; for owners, the keeper is the owner notified.
    query, name = (
        (NOTIFICATION_ADDED, topic(keeper.id)) if role == "UMKM_OWNER" else (TASK_ADDED, TASK_TOPIC)
    )
    victim_query = NOTIFICATION_ADDED if role == "UMKM_OWNER" else TASK_ADDED
    before = delivery_server.services.pubsub.subscriber_count(name)
    kept = await Socket.open(delivery_server, keeper.token, query)
    await _subscribed(delivery_server, name, before + 1)
    if role == "UMKM_OWNER":
        # The victim listens on its own topic: the event below is for the victim.
        gone = await Socket.open(delivery_server, victim.token, victim_query)
        await _subscribed(delivery_server, topic(victim.id), 1)
    else:
        gone = await Socket.open(delivery_server, victim.token, victim_query)
        await _subscribed(delivery_server, name, before + 2)
    try:
        await end(api, victim, factory, mailbox)
        await _event_for(delivery_server, role, victim if role == "UMKM_OWNER" else keeper, factory)
        assert await gone.close_code() == CLOSE_SESSION_ENDED
        assert [m for m in gone.received if m["type"] == "next"] == []  # nothing delivered
        if role == "UMKM_OWNER":
            await _event_for(delivery_server, role, keeper, factory)
        event = await kept.next_event()
        assert "errors" not in event, event
    finally:
        await kept.ws.close()
        await gone.ws.close()


@pytest.mark.parametrize("case", list(CASES))
async def test_an_idle_socket_closes_when_its_session_ends(
    case: str, idle_server: LiveServer, api: Api, factory: Factory, mailbox: Mailbox
) -> None:
    role, end = CASES[case]
    victim, keeper = await factory.account(role), await factory.account(role)
    query = NOTIFICATION_ADDED if role == "UMKM_OWNER" else TASK_ADDED
    name = topic(victim.id) if role == "UMKM_OWNER" else TASK_TOPIC
    sockets = idle_server.services.sockets
    base = sockets.open_count
    gone = await Socket.open(idle_server, victim.token, query)
    kept = await Socket.open(idle_server, keeper.token, query)
    await _until(lambda: sockets.open_count == base + 2, "both sockets registered")
    await _until(lambda: idle_server.services.pubsub.subscriber_count(name) >= 1, "subscribed")
    try:
        await end(api, victim, factory, mailbox)
        assert await gone.close_code() == CLOSE_SESSION_ENDED
        assert gone.received == []
        assert sockets.open_count == base + 1  # the keeper's socket survived the sweeps
        assert not kept.ws.close_code
    finally:
        await kept.ws.close()
        await gone.ws.close()
