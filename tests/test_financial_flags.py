"""Flags, owner notifications and the notificationAdded subscription, end to end."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from db import financial_logs as fl
from db.drivers.handles import Databases
from db.notifications import topic
from tests.fin_support import FLAG, UNFLAG, fin_umkm, submit
from tests.support import Account, Api, Factory, LiveServer

NOTIFICATIONS = """
query($unread: Boolean, $first: Int, $after: String) {
  notifications(unreadOnly: $unread, first: $first, after: $after) {
    nodes { id type title message tahun bulan isRead createdAt umkm { id } }
    pageInfo { hasNextPage endCursor }
  }
  unreadNotificationCount
}
"""
MARK = """
mutation($id: ID!) {
  markNotificationRead(id: $id) { notification { id isRead } userErrors { field code } }
}
"""
MARK_ALL = "mutation { markAllNotificationsRead { count userErrors { code } } }"
FLAGGED = """
query($t: Int!, $first: Int, $after: String) {
  flaggedFinancialLogs(tahun: $t, first: $first, after: $after) {
    nodes { umkmId tahun bulan isFlagged flagReason flaggedByName flaggedBy { id nama }
            inputBy { id } umkm { id namaUsaha } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _flag_vars(umkm_id: object, tahun: int, bulan: int, reason: str) -> dict[str, Any]:
    return {"input": {"umkmId": str(umkm_id), "tahun": tahun, "bulan": bulan, "reason": reason}}


async def _notifications(api: Api, owner: Account, **kw: Any) -> dict[str, Any]:
    return (await api.as_(owner.token)(NOTIFICATIONS, kw)).ok()  # type: ignore[no-any-return]


async def test_flag_unflag_notify_once_each(api: Api, factory: Factory, dbs: Databases) -> None:
    owner = await factory.account()
    staff = await factory.account("PEJABAT", nama="Bu Pejabat")
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2011, 4, 4_000_000)
    as_staff = api.as_(staff.token)

    missing = await as_staff(FLAG, _flag_vars(doc["_id"], 2011, 5, "omzet tidak wajar"))
    assert missing.ok()["flagFinancialLog"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert await fl.get(dbs.cassandra, doc["_id"], 2011, 5) is None  # no phantom row
    short = await as_staff(FLAG, _flag_vars(doc["_id"], 2011, 4, "pendek"))
    assert [e["code"] for e in short.ok()["flagFinancialLog"]["userErrors"]] == ["TOO_SHORT"]
    long = await as_staff(FLAG, _flag_vars(doc["_id"], 2011, 4, "x" * 501))
    assert [e["code"] for e in long.ok()["flagFinancialLog"]["userErrors"]] == ["TOO_LONG"]
    owner_try = await api.as_(owner.token)(FLAG, _flag_vars(doc["_id"], 2011, 4, "x" * 20))
    assert owner_try.error_codes == ["FORBIDDEN"]

    ok = (await as_staff(FLAG, _flag_vars(doc["_id"], 2011, 4, "omzet tidak wajar"))).ok()
    log = ok["flagFinancialLog"]["log"]
    assert ok["flagFinancialLog"]["userErrors"] == []
    assert log["isFlagged"] and log["flagReason"] == "omzet tidak wajar"
    assert log["flaggedByName"] == "Bu Pejabat" and log["flaggedBy"]["id"] == staff.gid
    assert log["flaggedAt"]
    again = await as_staff(FLAG, _flag_vars(doc["_id"], 2011, 4, "kedua kalinya ditandai"))
    assert [e["code"] for e in again.ok()["flagFinancialLog"]["userErrors"]] == ["INVALID_STATE"]

    # the owner's re-submission keeps the flag
    resubmitted = await submit(api, owner.token, doc["_id"], 2011, 4, 4_100_000)
    assert resubmitted["log"]["isFlagged"] and resubmitted["log"]["flaggedByName"] == "Bu Pejabat"

    data = await _notifications(api, owner)
    nodes = data["notifications"]["nodes"]
    assert [n["type"] for n in nodes] == ["FINANCIAL_FLAGGED"]  # exactly one
    assert nodes[0]["umkm"] == {"id": str(doc["_id"])}
    assert (nodes[0]["tahun"], nodes[0]["bulan"], nodes[0]["isRead"]) == (2011, 4, False)
    assert "April 2011" in nodes[0]["message"] and "omzet tidak wajar" in nodes[0]["message"]
    assert data["unreadNotificationCount"] == 1

    un = (await as_staff(UNFLAG, {"u": str(doc["_id"]), "t": 2011, "b": 4})).ok()
    assert un["unflagFinancialLog"]["log"] == {
        "isFlagged": False,
        "flagReason": None,
        "flaggedAt": None,
    }
    un2 = (await as_staff(UNFLAG, {"u": str(doc["_id"]), "t": 2011, "b": 4})).ok()
    assert [e["code"] for e in un2["unflagFinancialLog"]["userErrors"]] == ["INVALID_STATE"]
    un3 = (await as_staff(UNFLAG, {"u": str(doc["_id"]), "t": 2011, "b": 9})).ok()
    assert [e["code"] for e in un3["unflagFinancialLog"]["userErrors"]] == ["NOT_FOUND"]
    types = [n["type"] for n in (await _notifications(api, owner))["notifications"]["nodes"]]
    assert types == ["FINANCIAL_UNFLAGGED", "FINANCIAL_FLAGGED"]  # newest first


async def test_concurrent_flags_make_one_notification(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account()
    staff = [await factory.account("PEJABAT") for _ in range(4)]
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2011, 6, 1)
    results = await asyncio.gather(
        *(
            api.as_(s.token)(FLAG, _flag_vars(doc["_id"], 2011, 6, f"alasan ke-{i} cukup panjang"))
            for i, s in enumerate(staff)
        )
    )
    outcomes = sorted(
        "ok"
        if not r.ok()["flagFinancialLog"]["userErrors"]
        else r.ok()["flagFinancialLog"]["userErrors"][0]["code"]
        for r in results
    )
    assert outcomes == ["INVALID_STATE"] * 3 + ["ok"]
    data = await _notifications(api, owner)
    assert len(data["notifications"]["nodes"]) == 1
    listed = await api.as_(staff[0].token)(FLAGGED, {"t": 2011, "first": 100})
    mine = [
        n for n in listed.ok()["flaggedFinancialLogs"]["nodes"] if n["umkmId"] == str(doc["_id"])
    ]
    assert [n["bulan"] for n in mine] == [6]


async def test_notification_ids_round_trip_and_mark_read(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    other = await factory.account()
    staff = await factory.account("ADMIN")
    doc = await fin_umkm(factory, owner)
    for bulan in (1, 2, 3):
        await submit(api, owner.token, doc["_id"], 2012, bulan, bulan)
        flagged = await api.as_(staff.token)(
            FLAG, _flag_vars(doc["_id"], 2012, bulan, "perlu klarifikasi data")
        )
        assert flagged.ok()["flagFinancialLog"]["userErrors"] == []
    page1 = (await _notifications(api, owner, first=2))["notifications"]
    assert [n["bulan"] for n in page1["nodes"]] == [3, 2] and page1["pageInfo"]["hasNextPage"]
    page2 = (await _notifications(api, owner, first=2, after=page1["pageInfo"]["endCursor"]))[
        "notifications"
    ]
    assert [n["bulan"] for n in page2["nodes"]] == [1] and not page2["pageInfo"]["hasNextPage"]
    # Edges (their cursors made only when edges are selected) page the same way.
    edges = await api.as_(owner.token)(
        "query($a: String) { notifications(first: 2, after: $a) { edges { cursor node { bulan } }"
        " pageInfo { startCursor endCursor } } }",
        {"a": None},
    )
    conn = edges.ok()["notifications"]
    assert [e["node"]["bulan"] for e in conn["edges"]] == [3, 2]
    assert [e["cursor"] for e in conn["edges"]] == [
        conn["pageInfo"]["startCursor"],
        page1["pageInfo"]["endCursor"],
    ]

    target = page1["nodes"][1]["id"]
    # someone else's id, an unknown id and garbage: NOT_FOUND, nothing created
    for token, nid in (
        (other.token, target),
        (owner.token, str(uuid.uuid1())),
        (owner.token, "not-an-id"),
    ):
        resp = (await api.as_(token)(MARK, {"id": nid})).ok()["markNotificationRead"]
        assert resp == {
            "notification": None,
            "userErrors": [{"field": ["id"], "code": "NOT_FOUND"}],
        }
    assert (await _notifications(api, other))["notifications"]["nodes"] == []
    marked = (await api.as_(owner.token)(MARK, {"id": target})).ok()["markNotificationRead"]
    assert marked == {"notification": {"id": target, "isRead": True}, "userErrors": []}
    unread = await _notifications(api, owner, unread=True)
    assert [n["bulan"] for n in unread["notifications"]["nodes"]] == [3, 1]
    assert unread["unreadNotificationCount"] == 2
    count = (await api.as_(owner.token)(MARK_ALL)).ok()["markAllNotificationsRead"]
    assert count == {"count": 2, "userErrors": []}
    again = (await api.as_(owner.token)(MARK_ALL)).ok()["markAllNotificationsRead"]
    assert again["count"] == 0
    assert (await _notifications(api, owner))["unreadNotificationCount"] == 0
    staff_try = await api.as_(staff.token)(NOTIFICATIONS, {})
    assert staff_try.error_codes == ["FORBIDDEN"]


async def test_flagged_list_newest_first_paged(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    staff = await factory.account("PEJABAT")
    docs = [await fin_umkm(factory, owner) for _ in range(3)]
    for d in docs:
        await submit(api, owner.token, d["_id"], 2013, 7, 70)
        await submit(api, owner.token, d["_id"], 2013, 8, 80)
    order = []
    for d in docs:
        for bulan in (7, 8):
            r = await api.as_(staff.token)(
                FLAG, _flag_vars(d["_id"], 2013, bulan, "periksa lagi ya")
            )
            assert r.ok()["flagFinancialLog"]["userErrors"] == []
            order.append((str(d["_id"]), bulan))
    unflag = await api.as_(staff.token)(UNFLAG, {"u": str(docs[1]["_id"]), "t": 2013, "b": 7})
    assert unflag.ok()["unflagFinancialLog"]["userErrors"] == []
    order.remove((str(docs[1]["_id"]), 7))
    admin = await factory.account("ADMIN")
    deleted = await api.as_(admin.token)(
        "mutation($u: ID!) { deleteFinancialLog(umkmId: $u, tahun: 2013, bulan: 8) { ok } }",
        {"u": str(docs[2]["_id"])},
    )
    assert deleted.ok()["deleteFinancialLog"]["ok"]
    order.remove((str(docs[2]["_id"]), 8))
    seen = []
    after = None
    while True:
        resp = await api.as_(staff.token)(FLAGGED, {"t": 2013, "first": 2, "after": after})
        conn = resp.ok()["flaggedFinancialLogs"]
        for n in conn["nodes"]:
            assert n["isFlagged"] and n["flaggedBy"]["id"] == staff.gid
            assert n["inputBy"]["id"] == owner.gid and n["umkm"]["id"] == n["umkmId"]
            seen.append((n["umkmId"], n["bulan"]))
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == order[::-1]
    denied = await api.as_(owner.token)(FLAGGED, {"t": 2013})
    assert denied.error_codes == ["FORBIDDEN"]


SUBSCRIPTION = "subscription { notificationAdded { id type tahun bulan umkm { id } } }"


async def _wait_subscribed(server: LiveServer, owner: Account) -> None:
    for _ in range(1000):  # a condition, not a timing threshold: the server registered it
        if server.services.pubsub.subscriber_count(topic(owner.id)) > 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("subscription never registered")


def _ws(server: LiveServer, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.ws_url,
        init_payload={"authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )


async def test_subscription_delivers_to_the_owner_only(
    api: Api, server: LiveServer, factory: Factory
) -> None:
    alice = await factory.account()
    bob = await factory.account()
    staff = await factory.account("PEJABAT")
    a_doc = await fin_umkm(factory, alice)
    b_doc = await fin_umkm(factory, bob)
    await submit(api, alice.token, a_doc["_id"], 2014, 1, 1)
    await submit(api, bob.token, b_doc["_id"], 2014, 1, 1)

    async with (
        Client(transport=_ws(server, alice.token)) as a_sess,
        Client(transport=_ws(server, bob.token)) as b_sess,
    ):
        a_gen = a_sess.subscribe(gql(SUBSCRIPTION))
        b_gen = b_sess.subscribe(gql(SUBSCRIPTION))
        a_next = asyncio.ensure_future(a_gen.__anext__())
        b_next = asyncio.ensure_future(b_gen.__anext__())
        await _wait_subscribed(server, alice)
        await _wait_subscribed(server, bob)
        r = await api.as_(staff.token)(
            FLAG, _flag_vars(a_doc["_id"], 2014, 1, "omzet terlalu tinggi")
        )
        assert r.ok()["flagFinancialLog"]["userErrors"] == []
        a_event = (await asyncio.wait_for(a_next, 30))["notificationAdded"]
        assert a_event["type"] == "FINANCIAL_FLAGGED" and a_event["umkm"] == {
            "id": str(a_doc["_id"])
        }
        # the id pushed is the id the list returns and markNotificationRead accepts
        listed = (await _notifications(api, alice))["notifications"]["nodes"]
        assert listed[0]["id"] == a_event["id"]
        marked = await api.as_(alice.token)(MARK, {"id": a_event["id"]})
        assert marked.ok()["markNotificationRead"]["userErrors"] == []
        # Bob's first event is his own notification: Alice's never reached him
        r = await api.as_(staff.token)(
            FLAG, _flag_vars(b_doc["_id"], 2014, 1, "omzet terlalu tinggi")
        )
        assert r.ok()["flagFinancialLog"]["userErrors"] == []
        b_event = (await asyncio.wait_for(b_next, 30))["notificationAdded"]
        assert b_event["umkm"] == {"id": str(b_doc["_id"])}
        assert b_event["id"] != a_event["id"]
        await a_gen.aclose()
        await b_gen.aclose()


async def test_subscription_requires_an_owner(server: LiveServer, factory: Factory) -> None:
    staff = await factory.account("PEJABAT")
    async with Client(transport=_ws(server, staff.token)) as sess:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in sess.subscribe(gql(SUBSCRIPTION)):
                raise AssertionError("staff must not receive owner notifications")
    assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_subscription_with_a_bad_token_is_unauthenticated(server: LiveServer) -> None:
    async with Client(transport=_ws(server, "not-a-session")) as sess:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in sess.subscribe(gql(SUBSCRIPTION)):
                raise AssertionError("no events without a session")
    assert refused.value.errors
    assert refused.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
