"""Events between API processes through NATS (issue 17): two app instances ("processes") on the
same databases and the NATS server `make test` started, or one of the test's own.

A subscriber on one process receives, exactly once, events published by a write on the other;
`notificationAdded(since:)` first sends what the client missed (from Cassandra), then live
events, none twice; a write on one process empties the public answer cache of the others; with
NATS down writes still succeed, `/ready` says NATS is degraded, subscribers are told to
reconnect, and when NATS returns delivery resumes by itself.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError

from db.notifications import topic
from db.verification_tasks import TaskRow
from db.writes.umkm import TASK_TOPIC
from sigma_graphql.core.event_codec import EventCodecError, decode, encode
from sigma_graphql.core.pubsub import BrokerUnavailable, PubSub
from sigma_graphql.server.nats_bus import NatsBus, subject_of, topic_of
from tests.fin_support import FLAG, UNFLAG, submit
from tests.nats_support import DedicatedNats, Listener, until, ws
from tests.support import Account, Api, Factory, LiveServer
from tests.test_cost_limits import SPEND
from tests.test_shared_budget import AUDIENCES
from tests.umkm_support import CREATE, valid_input

NOTIFICATION_ADDED = """subscription ($since: ID) {
  notificationAdded(since: $since) { id type tahun bulan umkm { id } } }"""
TASK_ADDED = """subscription { verificationTaskAdded {
  id status namaUsaha ownerEmail createdAt umkm { id namaUsaha owner { id } } } }"""
NOTIFICATIONS = "{ notifications(first: 20) { nodes { id type bulan } } }"
LIST = """
query ($kota: String!) {
  umkms(first: 10, filter: {kota: $kota}) { nodes { id namaUsaha } }
}
"""


@pytest.fixture(scope="module")
def servers(server_factory: Callable[..., LiveServer]) -> tuple[LiveServer, LiveServer]:
    return server_factory(), server_factory()


def _bus(server: LiveServer) -> NatsBus:
    bus: NatsBus = server.app.state.event_bus
    return bus


def _flag(umkm_id: uuid.UUID, tahun: int, bulan: int) -> dict[str, Any]:
    return {
        "input": {
            "umkmId": str(umkm_id),
            "tahun": tahun,
            "bulan": bulan,
            "reason": "omzet melonjak tidak wajar",
        }
    }


async def _flagged(api: Api, staff: Account, umkm_id: uuid.UUID, tahun: int, bulan: int) -> None:
    flagged = (await api.as_(staff.token)(FLAG, _flag(umkm_id, tahun, bulan))).ok()
    assert flagged["flagFinancialLog"]["userErrors"] == []


async def _owner_with_months(
    factory: Factory, api: Api, months: list[int], tahun: int = 2019
) -> tuple[Account, Account, uuid.UUID]:
    owner = await factory.account()
    staff = await factory.account("PEJABAT", nama="Pak Pengawas")
    doc = await factory.umkm(owner)
    for bulan in months:
        await submit(api, owner.token, doc["_id"], tahun, bulan, 5_000_000 + bulan)
    return owner, staff, doc["_id"]


async def test_notification_crosses_processes_exactly_once(
    servers: tuple[LiveServer, LiveServer], factory: Factory
) -> None:
    a, b = servers
    api_a = Api(a)
    owner, staff, umkm_id = await _owner_with_months(factory, api_a, [3])

    async with ws(b, owner.token) as on_b, ws(a, owner.token) as on_a:
        listen_b, listen_a = Listener(on_b, NOTIFICATION_ADDED), Listener(on_a, NOTIFICATION_ADDED)
        next_b, next_a = listen_b.next(), listen_a.next()
        for server in (a, b):
            await until(
                lambda s=server: s.services.pubsub.subscriber_count(topic(owner.id)) == 1,  # type: ignore[misc]
                "subscription registered",
            )
        received_before = _bus(b).received
        await _flagged(api_a, staff, umkm_id, 2019, 3)
        from_b = (await asyncio.wait_for(next_b, 30))["notificationAdded"]
        from_a = (await asyncio.wait_for(next_a, 30))["notificationAdded"]
        # The same notification, resolved by each server (umkm { id } needs the UUID back).
        assert from_b == from_a
        assert from_b["type"] == "FINANCIAL_FLAGGED"
        assert (from_b["tahun"], from_b["bulan"]) == (2019, 3)
        assert from_b["umkm"] == {"id": str(umkm_id)}
        # b got it from NATS (it did not handle the write).
        assert _bus(b).received > received_before

        # Exactly once: the next event each subscriber receives is the following one (a
        # duplicate would come first).
        next_b, next_a = listen_b.next(), listen_a.next()
        unflag = {"u": str(umkm_id), "t": 2019, "b": 3}
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
    async with ws(b, staff.token) as on_b:
        listen_b = Listener(on_b, TASK_ADDED)
        next_b = listen_b.next()
        await until(lambda: b.services.pubsub.subscriber_count(TASK_TOPIC) == 1, "subscribed")
        made = (await Api(a).as_(owner.token)(CREATE, {"input": valid_input()})).ok()
        umkm = made["createUmkm"]["umkm"]
        from_b = (await asyncio.wait_for(next_b, 30))["verificationTaskAdded"]
        # The TaskRow (UUIDs, aware datetime) came back identical through NATS.
        assert from_b["status"] == "PENDING" and from_b["ownerEmail"] == owner.doc["email"]
        assert from_b["umkm"] == {
            "id": umkm["id"],
            "namaUsaha": umkm["namaUsaha"],
            "owner": {"id": owner.gid},
        }
        await listen_b.gen.aclose()


async def test_since_catches_up_from_cassandra_then_goes_live_without_duplicates(
    servers: tuple[LiveServer, LiveServer], factory: Factory
) -> None:
    a, b = servers
    api_a = Api(a)
    owner, staff, umkm_id = await _owner_with_months(factory, api_a, [1, 2, 3, 4])
    await _flagged(api_a, staff, umkm_id, 2019, 1)
    seen = (await Api(b).as_(owner.token)(NOTIFICATIONS)).ok()["notifications"]["nodes"]
    last_seen = seen[0]["id"]
    # Missed while the client was away: months 2 and 3.
    await _flagged(api_a, staff, umkm_id, 2019, 2)
    await _flagged(api_a, staff, umkm_id, 2019, 3)

    async with ws(b, owner.token) as on_b:
        listen = Listener(on_b, NOTIFICATION_ADDED, {"since": last_seen})
        caught_up = [(await asyncio.wait_for(listen.next(), 30))["notificationAdded"]]
        caught_up.append((await asyncio.wait_for(listen.next(), 30))["notificationAdded"])
        assert [n["bulan"] for n in caught_up] == [2, 3]  # oldest first
        await until(
            lambda: b.services.pubsub.subscriber_count(topic(owner.id)) == 1, "live registered"
        )
        next_live = listen.next()
        await _flagged(api_a, staff, umkm_id, 2019, 4)
        live = (await asyncio.wait_for(next_live, 30))["notificationAdded"]
        assert live["bulan"] == 4
        # Nothing twice: after the live event, the next one is a new write's.
        following = listen.next()
        unflag = {"u": str(umkm_id), "t": 2019, "b": 4}
        assert (await api_a.as_(staff.token)(UNFLAG, unflag)).ok()["unflagFinancialLog"][
            "userErrors"
        ] == []
        last = (await asyncio.wait_for(following, 30))["notificationAdded"]
        assert last["type"] == "FINANCIAL_UNFLAGGED"
        ids = [n["id"] for n in [*caught_up, live, last]]
        assert len(set(ids)) == 4 and last_seen not in ids
        await listen.gen.aclose()

    # A since that is not a notification id is the client's mistake.
    async with ws(b, owner.token) as on_b:
        with pytest.raises(TransportQueryError) as refused:
            await Listener(on_b, NOTIFICATION_ADDED, {"since": "bukan-id"}).next()
        assert refused.value.errors is not None
        assert refused.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_write_empties_the_public_cache_of_other_processes(
    server_factory: Callable[..., LiveServer], factory: Factory
) -> None:
    # A TTL far longer than the test: only the broadcast can make the new answer appear.
    writer = Api(server_factory(public_cache_ttl_s=600.0))
    reader = Api(server_factory(public_cache_ttl_s=600.0))
    kota = f"Kota Siar {uuid.uuid4().hex[:6]}"
    await factory.umkm(None, kota=kota, nama="Usaha Lama")

    async def names() -> list[str]:
        resp = await reader(LIST, {"kota": kota})
        return sorted(n["namaUsaha"] for n in resp.ok()["umkms"]["nodes"])

    assert await names() == ["Usaha Lama"]
    cached = await reader(LIST, {"kota": kota})
    assert cached.round_trips == 0  # answered from memory
    admin = await factory.account("ADMIN")
    data = valid_input(namaUsaha="Usaha Baru")
    data["wilayah"]["kota"] = kota
    created = await writer.as_(admin.token)(CREATE, {"input": data})
    assert created.ok()["createUmkm"]["userErrors"] == []
    for _ in range(500):  # until the broadcast arrived (a condition, not a timing threshold)
        if await names() == ["Usaha Baru", "Usaha Lama"]:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the other process kept serving the answer from before the write")
    # Once it arrived, the old answer never comes back.
    for _ in range(5):
        assert await names() == ["Usaha Baru", "Usaha Lama"]


@pytest.fixture(scope="module")
def own_nats() -> Iterator[DedicatedNats]:
    nats = DedicatedNats().start()
    yield nats
    nats.remove()


async def test_nats_down_writes_succeed_subscribers_reconnect_and_delivery_resumes(
    own_nats: DedicatedNats, server_factory: Callable[..., LiveServer], factory: Factory
) -> None:
    c = server_factory(nats_url=own_nats.url)
    d = server_factory(nats_url=own_nats.url)
    api_c = Api(c)
    owner, staff, umkm_id = await _owner_with_months(factory, api_c, [5, 6, 7])

    async with ws(d, owner.token) as on_d:
        listen = Listener(on_d, NOTIFICATION_ADDED)
        first = listen.next()
        await until(lambda: d.services.pubsub.subscriber_count(topic(owner.id)) == 1, "sub")
        await _flagged(api_c, staff, umkm_id, 2019, 5)
        seen = (await asyncio.wait_for(first, 30))["notificationAdded"]
        assert seen["bulan"] == 5

        told = listen.next()
        own_nats.stop()
        # The subscriber is told to reconnect (not left waiting on a feed missing events).
        with pytest.raises(TransportQueryError) as ended:
            await asyncio.wait_for(told, 30)
        assert ended.value.errors is not None
        error = ended.value.errors[0]["extensions"]
        assert error["code"] == "SERVICE_UNAVAILABLE" and error["reconnect"] is True

    async with httpx.AsyncClient(base_url=c.base) as http:
        ready = await http.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["nats"] == "degraded"
        assert ready.json()["ready"] is True
    # Writes still succeed and the notification is stored.
    await _flagged(api_c, staff, umkm_id, 2019, 6)
    stored = (await api_c.as_(owner.token)(NOTIFICATIONS)).ok()["notifications"]["nodes"]
    assert stored[0]["bulan"] == 6
    # New subscriptions are refused with the same advice while NATS is away.
    async with ws(d, owner.token) as on_d:
        with pytest.raises(TransportQueryError) as refused:
            await asyncio.wait_for(Listener(on_d, NOTIFICATION_ADDED).next(), 30)
        assert refused.value.errors is not None
        assert refused.value.errors[0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

    own_nats.start()
    await until(lambda: _bus(c).connected and _bus(d).connected, "both reconnected by themselves")
    async with httpx.AsyncClient(base_url=d.base) as http:
        assert (await http.get("/ready")).json()["checks"]["nats"] == "ok"
    async with ws(d, owner.token) as on_d:
        listen = Listener(on_d, NOTIFICATION_ADDED, {"since": seen["id"]})
        missed = (await asyncio.wait_for(listen.next(), 30))["notificationAdded"]
        assert missed["bulan"] == 6  # what happened during the outage, from Cassandra
        await until(lambda: d.services.pubsub.subscriber_count(topic(owner.id)) == 1, "live")
        live = listen.next()
        await _flagged(api_c, staff, umkm_id, 2019, 7)
        assert (await asyncio.wait_for(live, 30))["notificationAdded"]["bulan"] == 7
        await listen.gen.aclose()


def test_subjects_per_audience() -> None:
    owner = uuid.uuid4()
    assert subject_of("sigma", topic(owner)) == f"sigma.ev.notifications.{owner}"
    assert subject_of("sigma", TASK_TOPIC) == f"sigma.ev.{TASK_TOPIC}"
    assert topic_of("sigma", subject_of("sigma", topic(owner))) == topic(owner)
    assert topic_of("sigma", "other.ev.x") is None


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


async def test_plain_pubsub_stays_in_process_and_can_be_interrupted() -> None:
    pubsub = PubSub()
    gen = pubsub.subscribe("t")
    first = asyncio.ensure_future(gen.__anext__())
    await until(lambda: pubsub.subscriber_count("t") == 1, "subscribed")
    assert pubsub.publish("t", {"n": 1}) == 1
    assert await first == {"n": 1}
    second = asyncio.ensure_future(gen.__anext__())
    await asyncio.sleep(0)
    pubsub.interrupt()
    with pytest.raises(BrokerUnavailable):
        await second
    assert not pubsub.has_subscribers
    with pytest.raises(BrokerUnavailable):
        pubsub.open("t")
    pubsub.resume()
    pubsub.open("t").close()


async def test_an_empty_budget_is_hinted_to_other_processes(
    server_factory: Callable[..., LiveServer],
) -> None:
    # One shared bucket (tests/test_shared_budget.py) of 4 SPEND requests; a burst no other
    # test uses (buckets are keyed by identity and settings).
    small = {
        "budget_burst": dict.fromkeys(AUDIENCES, 213),
        "budget_refill_per_s": dict.fromkeys(AUDIENCES, 0.001),
        "budget_shared": True,
    }
    a, b = server_factory(**small), server_factory(**small)
    for _ in range(4):
        assert (await Api(a)(SPEND)).ok()
    heard = _bus(b).received
    refused = await Api(a)(SPEND)  # the shared bucket is empty: a tells everyone
    assert refused.error_codes == ["RATE_LIMITED"]
    await until(lambda: _bus(b).received > heard, "b heard the hint")
    # b refuses from the hint, without asking MongoDB (it never took a lease for this identity).
    hinted = await Api(b)(SPEND)
    assert hinted.error_codes == ["RATE_LIMITED"]
    assert hinted.round_trips == 0
