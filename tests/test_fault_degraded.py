"""Issue #12, finding 5: a MongoDB outage does not take everything down.

MongoDB is "down" behind tests/tcpproxy.py (connections refused), the suite's server itself is
untouched. Budgets are shared (kept in MongoDB) as in production: they fall back to this
process's buckets.
"""

from __future__ import annotations

import asyncio

import httpx

from db.drivers.handles import Databases
from sigma_graphql.core.settings import Settings
from tests.fault_support import ask, seconds_until_ok
from tests.support import Factory, LiveServer
from tests.tcpproxy import TcpProxy

PUBLIC_AGGREGATES = """{
  sectorStats(tahun: 2025) { sektor totalOmzet }
  regionStats(tahun: 2025) { kota totalOmzet }
  revenueTrend(tahun: 2025) { totalOmzet byMonth { bulan totalOmzet } }
}"""
HEATMAP = "{ heatmap(precision: 4) { geohash count } }"
OWNER_CASSANDRA_ONLY = "{ unreadNotificationCount }"
LOGOUT = "mutation { logout { ok } }"
CACHE_S = 4.0


async def test_mongodb_outage_keeps_public_aggregates_and_recent_sessions(
    migrated: Settings, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    await factory.umkm(owner)  # VERIFIED with a location: one heatmap cell at least
    never_seen = await factory.account("UMKM_OWNER")
    logged_out = await factory.account("UMKM_OWNER")
    mongo_port = int(migrated.mongo_uri.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy("127.0.0.1", mongo_port).up()
    live = LiveServer(
        migrated.with_overrides(
            mongo_uri=f"mongodb://127.0.0.1:{proxy.port}",
            mongo_timeout_ms=1000,
            budget_shared=True,
            session_cache_s=CACHE_S,
        )
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.base, timeout=60) as http:
            heatmap = await ask(http, HEATMAP)
            assert heatmap.ok and heatmap.body["data"]["heatmap"]
            assert (await ask(http, OWNER_CASSANDRA_ONLY, owner.token)).ok
            assert (await ask(http, OWNER_CASSANDRA_ONLY, logged_out.token)).ok
            assert (await ask(http, LOGOUT, logged_out.token)).ok

            proxy.down()
            validated_until = asyncio.get_running_loop().time() + CACHE_S

            aggregates = await ask(http, PUBLIC_AGGREGATES)
            assert aggregates.ok, aggregates.body
            assert aggregates.body["extensions"]["cost"]["remaining"] > 0  # local budget
            # The map is answered from this process's last answer of the same read.
            assert (await ask(http, HEATMAP)).body["data"] == heatmap.body["data"]
            # Validated a moment ago: Cassandra-only operations keep working.
            kept = await ask(http, OWNER_CASSANDRA_ONLY, owner.token)
            assert kept.ok, kept.body
            assert kept.body["data"]["unreadNotificationCount"] == 0
            # Never validated by this process, or ended here: cannot be checked, so refused
            # (not treated as anonymous).
            for token in (never_seen.token, logged_out.token):
                refused = await ask(http, OWNER_CASSANDRA_ONLY, token)
                assert refused.status == 503, refused.body
                assert refused.codes == ["SERVICE_UNAVAILABLE"]
                assert refused.first_error["extensions"]["retryAfter"] >= 1
            # MongoDB reads still fail, quickly once the breaker is open.
            assert (await ask(http, "{ umkms(first: 1) { totalCount } }")).codes == [
                "SERVICE_UNAVAILABLE"
            ]
            # The cached validation expires: a session revoked elsewhere stops working then.
            await asyncio.sleep(max(0.0, validated_until - asyncio.get_running_loop().time()))
            expired = await ask(http, OWNER_CASSANDRA_ONLY, owner.token)
            assert expired.codes == ["SERVICE_UNAVAILABLE"], expired.body

            proxy.up()
            assert await seconds_until_ok(http, OWNER_CASSANDRA_ONLY, owner.token, 30) < 10
            assert (await ask(http, OWNER_CASSANDRA_ONLY, never_seen.token)).ok
            gone = await ask(http, OWNER_CASSANDRA_ONLY, logged_out.token)
            assert gone.codes == ["UNAUTHENTICATED"], gone.body
    finally:
        live.stop()
        proxy.close()
