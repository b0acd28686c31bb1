"""The cross-process event bus: two app instances (two "processes") on the same databases.

A subscriber connected to one server receives, exactly once, events published by a mutation on
the other; a subscriber on the publishing server still gets each event once (the poller skips the
process's own events). Also: the payload codec round-trips the message types subscribers read,
and the bus survives an unreachable Cassandra.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from gql import Client, gql
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport

from db.drivers.cassandra import Cassandra
from db.notifications import topic
from db.verification_tasks import TaskRow
from db.writes.umkm import TASK_TOPIC
from sigma_graphql.core.event_codec import EventCodecError, decode, encode
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.settings import Settings
from sigma_graphql.server.event_bus import EventBus
from tests.fin_support import FLAG, UNFLAG, submit
from tests.support import Account, Api, Factory, LiveServer, free_port
from tests.umkm_support import CREATE, valid_input

NOTIFICATION_ADDED = "subscription { notificationAdded { id type tahun bulan umkm { id } } }"
TASK_ADDED = """subscription { verificationTaskAdded {
  id status namaUsaha ownerEmail createdAt umkm { id namaUsaha owner { id } } } }"""

Next = asyncio.Future[dict[str, Any]]


@pytest.fixture(scope="module")
def servers(server_factory: Callable[..., LiveServer]) -> tuple[LiveServer, LiveServer]:
    """Two app instances with their own PubSub and poller, polling often so the test is quick."""
    return server_factory(event_poll_interval_s=0.05), server_factory(event_poll_interval_s=0.05)


def _ws(server: LiveServer, token: str) -> Client:
    return Client(
        transport=WebsocketsTransport(
            url=server.ws_url,
            init_payload={"authorization": f"Bearer {token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
    )


def _bus(server: LiveServer) -> EventBus:
    bus: EventBus = server.app.state.event_bus
    return bus


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(3000):  # a condition, not a timing threshold
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


class Listener:
    """One open subscription; `next()` is the next event it receives."""

    def __init__(self, session: AsyncClientSession, query: str) -> None:
        self.gen: AsyncGenerator[dict[str, Any], None] = session.subscribe(gql(query))

    def next(self) -> Next:
        return asyncio.ensure_future(self.gen.__anext__())


async def _window_passed(servers: tuple[LiveServer, ...], moment: float) -> None:
    """Waits until every bus completed a read whose window starts after `moment`: an event
    published before it can no longer be (re)delivered by any poller."""
    for server in servers:
        await _until(lambda s=server: _bus(s).window_start > moment, "poll window moved on")  # type: ignore[misc]


async def test_notification_crosses_processes_exactly_once(
    servers: tuple[LiveServer, LiveServer], factory: Factory
) -> None:
    a, b = servers
    api_a = Api(a)
    owner: Account = await factory.account()
    staff = await factory.account("PEJABAT", nama="Pak Pengawas")
    doc = await factory.umkm(owner)
    await submit(api_a, owner.token, doc["_id"], 2019, 3, 5_000_000)

    async with _ws(b, owner.token) as on_b, _ws(a, owner.token) as on_a:
        listen_b, listen_a = Listener(on_b, NOTIFICATION_ADDED), Listener(on_a, NOTIFICATION_ADDED)
        next_b, next_a = listen_b.next(), listen_a.next()
        for server in (a, b):
            await _until(
                lambda s=server: s.services.pubsub.subscriber_count(topic(owner.id)) == 1,  # type: ignore[misc]
                "subscription registered",
            )

        variables = {
            "input": {
                "umkmId": str(doc["_id"]),
                "tahun": 2019,
                "bulan": 3,
                "reason": "omzet melonjak tidak wajar",
            }
        }
        flagged = (await api_a.as_(staff.token)(FLAG, variables)).ok()["flagFinancialLog"]
        assert flagged["userErrors"] == []

        from_b = (await asyncio.wait_for(next_b, 30))["notificationAdded"]
        from_a = (await asyncio.wait_for(next_a, 30))["notificationAdded"]
        received = time.time()
        # The same notification, resolved by each server (umkm { id } needs the UUID back).
        assert from_b == from_a
        assert from_b["type"] == "FINANCIAL_FLAGGED"
        assert (from_b["tahun"], from_b["bulan"]) == (2019, 3)
        assert from_b["umkm"] == {"id": str(doc["_id"])}

        # Exactly once: once no poller can deliver the flag event any more, the next event
        # each subscriber receives is the following one (a duplicate would come first).
        next_b, next_a = listen_b.next(), listen_a.next()
        await _window_passed(servers, received)
        unflag = {"u": str(doc["_id"]), "t": 2019, "b": 3}
        unflagged = (await api_a.as_(staff.token)(UNFLAG, unflag)).ok()["unflagFinancialLog"]
        assert unflagged["userErrors"] == []
        second_b = (await asyncio.wait_for(next_b, 30))["notificationAdded"]
        second_a = (await asyncio.wait_for(next_a, 30))["notificationAdded"]
        assert second_b["type"] == second_a["type"] == "FINANCIAL_UNFLAGGED"
        assert second_b["id"] == second_a["id"] != from_b["id"]
        await listen_a.gen.aclose()
        await listen_b.gen.aclose()


async def test_verification_task_crosses_processes(
    servers: tuple[LiveServer, LiveServer], factory: Factory
) -> None:
    a, b = servers
    staff = await factory.account("PEJABAT")
    owner = await factory.account()
    async with _ws(b, staff.token) as on_b, _ws(a, staff.token) as on_a:
        listen_b, listen_a = Listener(on_b, TASK_ADDED), Listener(on_a, TASK_ADDED)
        next_b, next_a = listen_b.next(), listen_a.next()
        for server in (a, b):
            await _until(
                lambda s=server: s.services.pubsub.subscriber_count(TASK_TOPIC) == 1,  # type: ignore[misc]
                "subscription registered",
            )
        made = (await Api(a).as_(owner.token)(CREATE, {"input": valid_input()})).ok()
        umkm = made["createUmkm"]["umkm"]
        from_b = (await asyncio.wait_for(next_b, 30))["verificationTaskAdded"]
        from_a = (await asyncio.wait_for(next_a, 30))["verificationTaskAdded"]
        # The TaskRow (UUIDs, aware datetime) came back identical through Cassandra.
        assert from_b == from_a
        assert from_b["status"] == "PENDING" and from_b["ownerEmail"] == owner.doc["email"]
        assert from_b["umkm"] == {
            "id": umkm["id"],
            "namaUsaha": umkm["namaUsaha"],
            "owner": {"id": owner.gid},
        }
        await listen_a.gen.aclose()
        await listen_b.gen.aclose()


def test_codec_round_trips_what_subscribers_read() -> None:
    nid = uuid.uuid1()
    row = {
        "owner_id": uuid.uuid4(),
        "notification_id": nid,
        "type": "FINANCIAL_FLAGGED",
        "title": "Judul",
        "message": "Pesan dengan ünïcode",
        "umkm_id": None,
        "tahun": 2020,
        "bulan": 1,
        "is_read": False,
    }
    back = decode(encode(row))
    assert back == row and back["notification_id"].version == 1
    task = TaskRow(
        task_id=nid,
        umkm_id=uuid.uuid4(),
        status="PENDING",
        bucket="2026-11",
        created_at=datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC),
        nama_usaha="Warung",
        owner_email=None,
        decided_by=None,
        decided_at=datetime(2026, 11, 23, 4, 5, 6),  # naive stays naive
        reason=None,
    )
    assert decode(encode(task)) == task
    with pytest.raises(EventCodecError):
        encode({"x": object()})
    with pytest.raises(EventCodecError):
        decode('{"$type": "os.system", "fields": {}}')


async def test_plain_pubsub_stays_in_process() -> None:
    pubsub = PubSub()
    gen = pubsub.subscribe("t")
    first = asyncio.ensure_future(gen.__anext__())
    await _until(lambda: pubsub.subscriber_count("t") == 1, "subscribed")
    assert pubsub.publish("t", {"n": 1}) == 1
    assert await first == {"n": 1}
    await gen.aclose()
    assert not pubsub.has_subscribers


async def test_bus_survives_an_unreachable_cassandra(migrated: Settings) -> None:
    # A real Cassandra client pointed at a port nobody listens on.
    down = Cassandra(
        migrated.with_overrides(cassandra_contact_points=(f"127.0.0.1:{free_port()}",))
    )
    pubsub = PubSub()
    bus = EventBus(pubsub, down, poll_interval_s=0.01)
    bus.start()
    gen = pubsub.subscribe("t")
    first = asyncio.ensure_future(gen.__anext__())
    try:
        await _until(lambda: pubsub.subscriber_count("t") == 1, "subscribed")
        assert pubsub.publish("t", {"n": 1}) == 1  # local delivery; the failed store is logged
        assert await first == {"n": 1}
        await _until(lambda: bus.failing, "poller saw the outage")
        assert bus.polling  # and keeps polling
    finally:
        await gen.aclose()
        await bus.stop()
        down.close()
