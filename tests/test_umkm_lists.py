"""UMKM lists: filters, keyset pagination under inserts, DataLoader batching, subscription."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from db.drivers.handles import Databases
from tests.support import Api, Factory, LiveServer
from tests.umkm_support import CREATE, LIST, insert_umkm, valid_input


async def _walk(
    api: Api, token: str | None, filter: dict[str, Any], first: int, between: Any = None
) -> tuple[list[str], int]:
    ids: list[str] = []
    after = None
    total = -1
    while True:
        variables = {"filter": filter, "first": first, "after": after}
        page = (await api.as_(token)(LIST, variables)).ok()["umkms"]
        if total < 0:
            total = page["totalCount"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        ids.extend(e["node"]["id"] for e in page["edges"])
        if page["edges"]:
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return ids, total
        after = page["pageInfo"]["endCursor"]
        if between is not None:
            await between()


async def test_pagination_has_no_duplicates_or_gaps_while_rows_are_inserted(
    api: Api, dbs: Databases
) -> None:
    tag = uuid.uuid4().hex[:8]
    base = datetime(2025, 3, 1, tzinfo=UTC)
    originals = []
    for i in range(31):
        # groups of three share created_at: the _id tie-break keeps the order total
        created = base + timedelta(minutes=i // 3)
        doc = await insert_umkm(dbs, nama=f"Usaha {tag} {i}", created_at=created)
        originals.append(doc)
    added_old: list[str] = []

    async def insert_meanwhile() -> None:
        await insert_umkm(dbs, nama=f"Usaha {tag} baru")  # newer: before the cursor
        await insert_umkm(dbs, nama=f"Usaha {tag} sangat baru", created_at=datetime.now(UTC))
        old = await insert_umkm(dbs, nama=f"Usaha {tag} lama", created_at=base - timedelta(days=1))
        added_old.append(str(old["_id"]))

    ids, total = await _walk(api, None, {"search": tag}, 7, insert_meanwhile)
    assert total == 31
    assert len(ids) == len(set(ids))
    expected = sorted(originals, key=lambda d: (d["created_at"], d["_id"].bytes), reverse=True)
    assert ids[:31] == [str(d["_id"]) for d in expected]
    # rows inserted behind the cursor (older) are reached; newer ones are not repeated
    assert set(ids[31:]) == set(added_old)


async def test_filters(api: Api, factory: Factory, dbs: Databases) -> None:
    tag = uuid.uuid4().hex[:8]
    admin, staff = await factory.account("ADMIN"), await factory.account("PEJABAT")
    rows = [
        await insert_umkm(dbs, nama=f"Toko {tag} (Bakso) A.1", sektor="Kuliner", kota="Malang"),
        await insert_umkm(dbs, nama=f"Toko {tag} Batik", sektor="Fashion", kota="Surabaya"),
        await insert_umkm(
            dbs, nama=f"Toko {tag} Rotan", sektor="Kriya", kota="Bandung", provinsi="Jawa Barat"
        ),
        await insert_umkm(dbs, nama=f"Toko {tag} Baru", status="PENDING"),
        await insert_umkm(dbs, nama=f"Toko {tag} Ditolak", status="REJECTED"),
        await insert_umkm(dbs, nama=f"Toko {tag} Hapus", deleted=True),
    ]
    ids = [str(d["_id"]) for d in rows]

    async def found(token: str | None, **f: Any) -> set[str]:
        got, total = await _walk(api, token, {"search": tag, **f}, 100)
        assert total == len(got)
        return set(got)

    assert await found(None) == set(ids[:3])
    assert await found(None, status="PENDING") == set(ids[:3])  # ignored for PUBLIC
    assert await found(staff.token) == set(ids[:5])
    assert await found(staff.token, status="PENDING") == {ids[3]}
    assert await found(staff.token, status="REJECTED") == {ids[4]}
    assert await found(admin.token, includeDeleted=True) == set(ids)
    assert await found(None, sektor="FASHION") == {ids[1]}
    assert await found(None, sektor="Otomotif") == set()
    assert await found(None, kota="surabaya") == {ids[1]}
    assert await found(None, kota="Sura") == set()  # whole kota, not a prefix
    assert await found(None, provinsi="jawa barat") == {ids[2]}
    # search: case-insensitive substring, regex characters are literal
    assert await found(None, search=f"{tag} (bakso) a.1") == {ids[0]}
    assert await found(None, search=f"{tag} .*") == set()
    assert await found(None, search=f"TOKO {tag.upper()}") == set(ids[:3])
    assert (await api.as_(None)(LIST, {"first": 101})).error_codes == ["BAD_USER_INPUT"]
    assert (await api.as_(None)(LIST, {"after": "!!"})).error_codes == ["BAD_USER_INPUT"]


ROUND_TRIP_QUERY = """query($filter: UMKMFilter, $first: Int) {
  umkms(filter: $filter, first: $first) { totalCount nodes {
    id namaUsaha
    owner { nama umkms(first: 3) { totalCount nodes { id } } }
    legalitas { verifiedBy { nama } }
  } } }"""
TASK_ROUND_TRIPS = """query($first: Int) { verificationTasks(first: $first) { edges { node {
  id umkm { id owner { nama } legalitas { verifiedBy { nama } } } decidedBy { nama } } } } }"""


async def test_nested_fetches_are_batched(api: Api, factory: Factory, dbs: Databases) -> None:
    tag = uuid.uuid4().hex[:8]
    owners = [await factory.account("UMKM_OWNER") for _ in range(10)]
    verifiers = [await factory.account("PEJABAT") for _ in range(4)]
    admin = await factory.account("ADMIN")
    for i in range(100):
        await insert_umkm(
            dbs,
            nama=f"Batch {tag} {i}",
            owner_id=owners[i % 10].id,
            verified_by=verifiers[i % 4].id,
        )
    counts = {}
    details: dict[int, Any] = {}
    for first in (1, 100):
        resp = await api.as_(admin.token)(
            ROUND_TRIP_QUERY, {"filter": {"search": tag}, "first": first}
        )
        nodes = resp.ok()["umkms"]["nodes"]
        assert len(nodes) == first
        assert all(n["owner"]["nama"] and n["legalitas"]["verifiedBy"]["nama"] for n in nodes)
        assert all(n["owner"]["umkms"]["totalCount"] == 10 for n in nodes)
        counts[first] = resp.round_trips
        details[first] = resp.extensions["dbRoundTrips"]
    assert counts[1] == counts[100], details

    # the task queue too: its umkm, the umkm's owner and decidedBy batch
    for owner in owners[:5]:
        for _ in range(2):
            await api.as_(owner.token)(CREATE, {"input": valid_input()})
    task_counts = {}
    for first in (1, 10):
        resp = await api.as_(admin.token)(TASK_ROUND_TRIPS, {"first": first})
        assert len(resp.ok()["verificationTasks"]["edges"]) == first
        task_counts[first] = resp.round_trips
        details[first] = resp.extensions["dbRoundTrips"]
    assert task_counts[1] == task_counts[10], details


SUBSCRIPTION = """subscription { verificationTaskAdded {
  id status namaUsaha ownerEmail createdAt umkm { id namaUsaha owner { id } } } }"""


async def _first_event(server: LiveServer, token: str) -> dict[str, Any]:
    transport = WebsocketsTransport(
        url=server.ws_url,
        init_payload={"authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as session:
        async for event in session.subscribe(gql(SUBSCRIPTION)):
            return event  # type: ignore[no-any-return]
    raise AssertionError("subscription ended without an event")


async def test_verification_task_added_over_websocket(
    api: Api, server: LiveServer, factory: Factory
) -> None:
    staff = await factory.account("PEJABAT")
    owner = await factory.account("UMKM_OWNER")
    listener = asyncio.create_task(_first_event(server, staff.token))
    topic = "verification_tasks"
    for _ in range(200):  # wait until the subscription is registered (no timing threshold)
        if server.services.pubsub.subscriber_count(topic):
            break
        await asyncio.sleep(0.02)
    assert server.services.pubsub.subscriber_count(topic) == 1
    made = (await api.as_(owner.token)(CREATE, {"input": valid_input()})).ok()["createUmkm"]
    event = (await asyncio.wait_for(listener, 30))["verificationTaskAdded"]
    assert event["status"] == "PENDING"
    assert event["namaUsaha"] == made["umkm"]["namaUsaha"]
    assert event["ownerEmail"] == owner.doc["email"]
    assert event["umkm"] == {
        "id": made["umkm"]["id"],
        "namaUsaha": made["umkm"]["namaUsaha"],
        "owner": {"id": owner.gid},
    }


async def test_verification_task_added_is_staff_only(server: LiveServer, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    try:
        await asyncio.wait_for(_first_event(server, owner.token), 30)
    except Exception as exc:  # gql raises TransportQueryError with the GraphQL error
        assert "FORBIDDEN" in str(exc) or "akses" in str(exc)
    else:
        raise AssertionError("an owner received verification tasks")
