"""A Cassandra outage turns the aggregate reads into SERVICE_UNAVAILABLE, and they recover."""

from __future__ import annotations

import asyncio

import httpx

from sigma_graphql.core.settings import Settings
from tests.support import LiveServer
from tests.tcpproxy import TcpProxy

QUERY = {"query": "{ sectorStats(tahun: 2025) { sektor totalOmzet } }"}


async def _until(http: httpx.AsyncClient, want_ok: bool, timeout: float = 60.0) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        resp = await http.post("/graphql", json=QUERY)
        body = resp.json()
        if ("errors" not in body) == want_ok:
            return resp
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {body}")
        await asyncio.sleep(0.5)


async def test_cassandra_outage_gives_service_unavailable_then_recovers(
    migrated: Settings,
) -> None:
    cass = TcpProxy("127.0.0.1", migrated.cassandra_port).up()
    live = LiveServer(
        migrated.with_overrides(cassandra_contact_points=(f"127.0.0.1:{cass.port}",))
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.base, timeout=60) as http:
            await _until(http, want_ok=True)
            cass.down()
            down = await _until(http, want_ok=False)
            error = down.json()["errors"][0]
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert error["extensions"]["database"] == "cassandra"
            cass.up()
            recovered = await _until(http, want_ok=True)
            assert recovered.json()["data"]["sectorStats"] is not None
    finally:
        live.stop()
        cass.close()
