"""Three real API processes behind a real HAProxy (sigma_graphql/commands/cluster.py, issue 17).

Everything goes through the load balancer's port, as clients would: a subscription held on one
process receives events from writes served by the others; a cookie session and a bearer token
work on every process; one identity has one budget across processes; a killed process loses no
acknowledged write and HAProxy stops sending to it; the public cache never serves an answer older
than a write once the broadcast arrived. `X-Served-By` (set by HAProxy) names the process that
answered.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from db.umkm_profiles import find_by_id
from sigma_graphql.commands.cluster import Cluster
from sigma_graphql.core.settings import Settings
from tests.fin_support import FLAG, submit
from tests.nats_support import Listener, until, ws_client
from tests.support import Account, Api, Factory, LiveServer, free_port
from tests.test_cost_limits import SPEND
from tests.umkm_support import CREATE, valid_input

PROCESSES = 3
ME = "{ me { id } }"
NOTIFICATION_ADDED = "subscription { notificationAdded { id bulan } }"
LOGIN = "mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){token}}"
LIST = "query ($kota: String!) { umkms(first: 10, filter: {kota: $kota}) { nodes { namaUsaha } } }"
# PEJABAT's budget in the cluster: 40 SPEND requests (50 points each), refilled very slowly.
PEJABAT_BURST = 2000


def _env(settings: Settings) -> dict[str, str]:
    """The test session's settings as the processes' environment."""
    env = dict(os.environ)
    env.update(
        SIGMA_ENV="test",
        SIGMA_MONGO_URI=settings.mongo_uri,
        SIGMA_MONGO_DB=settings.mongo_db,
        SIGMA_CASSANDRA_CONTACT_POINTS=",".join(settings.cassandra_contact_points),
        SIGMA_CASSANDRA_PORT=str(settings.cassandra_port),
        SIGMA_CASSANDRA_KEYSPACE=settings.cassandra_keyspace,
        SIGMA_NATS_URL=settings.nats_url or "off",
        SIGMA_NATS_SUBJECT_PREFIX=settings.nats_subject_prefix,
        SIGMA_SMTP_PORT=str(settings.smtp_port),
        SIGMA_RECONCILE_INTERVAL_S="0",
        SIGMA_BUDGET_SHARED="true",
        SIGMA_BUDGET_BURST=f"PEJABAT={PEJABAT_BURST}",
        SIGMA_BUDGET_REFILL_PER_S="PEJABAT=0.001",
        # Far longer than the test: only the broadcast can refresh an answer.
        SIGMA_PUBLIC_CACHE_TTL_S="600",
    )
    return env


@pytest.fixture(scope="module")
def cluster(migrated: Settings) -> Iterator[Cluster]:
    logs = Path(os.environ.get("SIGMA_SERVICES_DIR", "/tmp")) / "cluster-logs"
    running = Cluster(PROCESSES, free_port(), env=_env(migrated), log_dir=logs).start()
    yield running
    running.stop()


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> tuple[dict[str, Any], str]:
    resp = await http.post("/graphql", json={"query": query, "variables": variables or {}}, **kw)
    assert resp.status_code == 200, resp.text
    return resp.json(), resp.headers.get("x-served-by", "")


def _names(cluster: Cluster) -> set[str]:
    return {cluster.server_name(i) for i in range(PROCESSES)}


async def test_subscription_gets_writes_served_by_other_processes(
    cluster: Cluster, factory: Factory, server: LiveServer
) -> None:
    owner = await factory.account()
    staff = await factory.account("ADMIN")
    doc = await factory.umkm(owner)
    months = list(range(1, 2 * PROCESSES + 1))
    for bulan in months:  # through the session's own server: only the flags matter here
        await submit(Api(server), owner.token, doc["_id"], 2018, bulan, 1_000_000 + bulan)

    client = ws_client(cluster.url.replace("http", "ws") + "/graphql", owner.token)
    async with client as session, httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        listen = Listener(session, NOTIFICATION_ADDED)
        first = listen.next()
        await asyncio.sleep(0)
        served: list[str] = []
        received: list[int] = []
        for i, bulan in enumerate(months):
            variables = {
                "input": {
                    "umkmId": str(doc["_id"]),
                    "tahun": 2018,
                    "bulan": bulan,
                    "reason": "omzet melonjak tidak wajar",
                }
            }
            body, by = await _post(
                http, FLAG, variables, headers={"Authorization": f"Bearer {staff.token}"}
            )
            assert body["data"]["flagFinancialLog"]["userErrors"] == [], body
            served.append(by)
            pending = first if i == 0 else listen.next()
            received.append((await asyncio.wait_for(pending, 30))["notificationAdded"]["bulan"])
        await listen.gen.aclose()
    # Every write arrived on the one process holding the subscription, and the writes were
    # served by every process: so by processes other than the subscriber's.
    assert received == months
    assert set(served) == _names(cluster)


async def test_cookie_session_and_bearer_token_work_on_every_process(
    cluster: Cluster, factory: Factory
) -> None:
    account: Account = await factory.account()
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as browser:
        body, _ = await _post(browser, LOGIN, {"e": account.doc["email"], "p": account.password})
        token = body["data"]["login"]["token"]
        assert browser.cookies.get("session_token")
        by_cookie: set[str] = set()
        for _ in range(2 * PROCESSES):
            body, by = await _post(browser, ME)
            assert body["data"]["me"]["id"] == account.gid
            by_cookie.add(by)
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as mobile:
        by_bearer: set[str] = set()
        for _ in range(2 * PROCESSES):
            body, by = await _post(mobile, ME, headers={"Authorization": f"Bearer {token}"})
            assert body["data"]["me"]["id"] == account.gid
            by_bearer.add(by)
    assert by_cookie == by_bearer == _names(cluster)


async def test_one_budget_per_identity_across_processes(cluster: Cluster, factory: Factory) -> None:
    staff = await factory.account("PEJABAT")
    allowed = refused = 0
    served: set[str] = set()
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        # Three times what one bucket holds: per-process buckets would let all of it through.
        for _ in range(3 * PEJABAT_BURST // 50):
            body, by = await _post(http, SPEND, headers={"Authorization": f"Bearer {staff.token}"})
            served.add(by)
            codes = [e["extensions"]["code"] for e in body.get("errors") or []]
            if codes == ["RATE_LIMITED"]:
                refused += 1
            else:
                assert codes == [], body
                allowed += 1
    assert served == _names(cluster)
    assert 0 < allowed * 50 <= PEJABAT_BURST
    assert refused > 0


async def test_public_cache_never_older_than_a_broadcast_write(
    cluster: Cluster, factory: Factory
) -> None:
    kota = f"Kota Klaster {uuid.uuid4().hex[:6]}"
    await factory.umkm(None, kota=kota, nama="Usaha Lama")
    admin = await factory.account("ADMIN")
    old, new = ["Usaha Lama"], ["Usaha Baru", "Usaha Lama"]
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:

        async def read() -> tuple[list[str], str]:
            body, by = await _post(http, LIST, {"kota": kota})
            return sorted(n["namaUsaha"] for n in body["data"]["umkms"]["nodes"]), by

        warmed: set[str] = set()
        for _ in range(2 * PROCESSES):  # every process keeps the old answer
            names, by = await read()
            assert names == old
            warmed.add(by)
        assert warmed == _names(cluster)
        data = valid_input(namaUsaha="Usaha Baru")
        data["wilayah"]["kota"] = kota
        body, _ = await _post(
            http, CREATE, {"input": data}, headers={"Authorization": f"Bearer {admin.token}"}
        )
        assert body["data"]["createUmkm"]["userErrors"] == []
        fresh: set[str] = set()
        for _ in range(3000):  # until every process had the broadcast (a condition)
            names, by = await read()
            if names == new:
                fresh.add(by)
            else:
                # Never the old answer from a process that already answered with the new one.
                assert by not in fresh, f"{by} served an answer older than the write"
            if fresh == _names(cluster):
                break
            await asyncio.sleep(0.005)
        assert fresh == _names(cluster)


async def test_killing_a_process_loses_no_acknowledged_write(
    cluster: Cluster, factory: Factory, dbs: Any
) -> None:
    owner = await factory.account()
    acknowledged: list[str] = []
    failed = 0
    killed = asyncio.Event()
    victim = 0

    async def writer(http: httpx.AsyncClient, n: int) -> None:
        nonlocal failed
        for i in range(12):
            data = valid_input(namaUsaha=f"Usaha Beban {n} {i} {uuid.uuid4().hex[:4]}")
            try:
                resp = await http.post(
                    "/graphql",
                    json={"query": CREATE, "variables": {"input": data}},
                    headers={"Authorization": f"Bearer {owner.token}"},
                )
                body = resp.json() if resp.status_code == 200 else {}
            except httpx.HTTPError:
                body = {}
            made = ((body.get("data") or {}).get("createUmkm") or {}).get("umkm")
            if made and not body.get("errors"):
                acknowledged.append(made["id"])
            else:
                failed += 1  # not acknowledged: the client would retry
            if i == 3 and n == 0:
                cluster.kill(victim)
                killed.set()

    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        await asyncio.gather(*(writer(http, n) for n in range(4)))
        assert killed.is_set()
        # HAProxy takes the dead process out by itself.
        await until(
            lambda: cluster.server_status().get(cluster.server_name(victim), "").startswith("DOWN"),
            "HAProxy marked the killed process down",
        )
        after: set[str] = set()
        for _ in range(3 * PROCESSES):
            body, by = await _post(http, ME, headers={"Authorization": f"Bearer {owner.token}"})
            assert body["data"]["me"]["id"] == owner.gid
            after.add(by)
        assert after == _names(cluster) - {cluster.server_name(victim)}
    assert acknowledged
    for umkm_id in acknowledged:  # every acknowledged write is in the database
        assert await find_by_id(dbs.mongo, uuid.UUID(umkm_id)) is not None, umkm_id
