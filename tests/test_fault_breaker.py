"""Issue #12, finding 4 (circuit breakers) and the silent-connection half of finding 2.

A hung database is played by tests/tcpproxy.py in front of the suite's real servers: `pause()`
keeps every connection open and forwards nothing (SIGSTOP, a full disk), `sever()` leaves the
current connections open and silent for good while new ones work (peers gone without a reset).
The servers themselves are never paused.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from sigma_graphql.core.settings import Settings
from tests.fault_support import CASSANDRA_QUERY, MONGO_QUERY, Answer, ask, seconds_until_ok
from tests.support import LiveServer
from tests.tcpproxy import TcpProxy


async def _until_open(http: httpx.AsyncClient, query: str, database: str) -> list[Answer]:
    """Asks until the breaker answers instead of the database (no round trip to it)."""
    seen: list[Answer] = []
    while not seen or seen[-1].ok or seen[-1].round_trips(database) > 0:
        assert len(seen) < 20, [a.body for a in seen]
        seen.append(await ask(http, query))
    return seen


def _report(name: str, slow: list[Answer], refused: list[Answer], recovered: float) -> None:
    print(
        f"paused {name}: {len(slow)} requests until the breaker opened "
        f"({sum(a.seconds for a in slow):.1f} s), then refusals in "
        f"{max(a.seconds for a in refused) * 1000:.0f} ms at most; "
        f"answers {recovered:.1f} s after resuming"
    )


def _assert_fast_refusals(answers: list[Answer], database: str) -> None:
    for answer in answers:
        assert answer.codes == ["SERVICE_UNAVAILABLE"], answer.body
        extensions = answer.first_error["extensions"]
        assert extensions["database"] == database
        assert extensions["retryAfter"] >= 1
        # Refused by the breaker: the database was not asked at all.
        assert answer.round_trips(database) == 0
    # Generous, and the median: the point is "not the driver's timeout" (1 s here, 5 s by
    # default), and a loaded machine can stall any single request.
    assert statistics.median(a.seconds for a in answers) < 0.25, [a.seconds for a in answers]


async def test_paused_cassandra_fails_fast_behind_an_open_breaker_then_recovers(
    migrated: Settings,
) -> None:
    proxy = TcpProxy("127.0.0.1", migrated.cassandra_port).up()
    live = LiveServer(
        migrated.with_overrides(
            cassandra_contact_points=(f"127.0.0.1:{proxy.port}",), cassandra_timeout_s=1.0
        )
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.base, timeout=60) as http:
            await seconds_until_ok(http, CASSANDRA_QUERY)
            proxy.pause()
            slow = await _until_open(http, CASSANDRA_QUERY, "cassandra")
            # Only the first few requests waited for the driver's timeout.
            assert len([a for a in slow if a.round_trips("cassandra") > 0]) <= 3
            refused = [await ask(http, CASSANDRA_QUERY) for _ in range(10)]
            _assert_fast_refusals(refused, "cassandra")
            # MongoDB-only requests are not refused by Cassandra's breaker.
            assert (await ask(http, MONGO_QUERY)).ok
            proxy.resume()
            # The background probe closes the breaker once Cassandra answers again.
            recovered = await seconds_until_ok(http, CASSANDRA_QUERY, limit_s=30)
            _report("Cassandra", slow, refused, recovered)
            assert recovered < 10
    finally:
        live.stop()
        proxy.close()


async def test_paused_mongodb_fails_fast_behind_an_open_breaker_then_recovers(
    migrated: Settings,
) -> None:
    mongo_port = int(migrated.mongo_uri.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy("127.0.0.1", mongo_port).up()
    live = LiveServer(
        migrated.with_overrides(
            mongo_uri=f"mongodb://127.0.0.1:{proxy.port}",
            mongo_timeout_ms=1000,
            mongo_socket_timeout_ms=1000,
        )
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.base, timeout=60) as http:
            await seconds_until_ok(http, MONGO_QUERY)
            proxy.pause()
            slow = await _until_open(http, MONGO_QUERY, "mongodb")
            refused = [await ask(http, MONGO_QUERY) for _ in range(10)]
            _assert_fast_refusals(refused, "mongodb")
            assert (await ask(http, CASSANDRA_QUERY)).ok
            ready = await http.get("/ready")
            # /ready names the database only; the breaker's detail goes to the log (issue 11 #7).
            assert ready.status_code == 503
            assert ready.json()["checks"]["mongodb"] == "unavailable"
            proxy.resume()
            recovered = await seconds_until_ok(http, MONGO_QUERY, limit_s=30)
            _report("MongoDB", slow, refused, recovered)
            assert recovered < 10
    finally:
        live.stop()
        proxy.close()


async def test_connections_gone_silent_do_not_hang_mongodb_requests(migrated: Settings) -> None:
    """Finding 2: connections whose peer vanished without a reset (a restarted host behind NAT,
    a dropped VPN) held their requests until the driver's monitor gave up on its own silent
    connection, 12 s later, or for good when the monitor's connection was a new one. Requests
    on them must fail within the socket timeout, and new requests answer from fresh
    connections."""
    mongo_port = int(migrated.mongo_uri.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy("127.0.0.1", mongo_port).up()
    live = LiveServer(
        migrated.with_overrides(
            mongo_uri=f"mongodb://127.0.0.1:{proxy.port}", mongo_socket_timeout_ms=2000
        )
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.base, timeout=60) as http:
            await seconds_until_ok(http, MONGO_QUERY)
            # Several requests at once: the pool holds several connections when they go silent.
            stop = asyncio.Event()
            answers: list[Answer] = []

            async def traffic() -> None:
                while not stop.is_set():
                    answers.append(await ask(http, MONGO_QUERY))

            workers = [asyncio.create_task(traffic()) for _ in range(8)]
            await asyncio.sleep(1)
            proxy.sever()
            severed = time.monotonic()
            await asyncio.sleep(0.5)
            recovered = await seconds_until_ok(http, MONGO_QUERY, limit_s=60) + 0.5
            await asyncio.sleep(1)
            stop.set()
            await asyncio.gather(*workers)
            slowest = max(a.seconds for a in answers)
            print(f"silent connections: recovered after {recovered:.1f} s, slowest {slowest:.1f} s")
            assert recovered < 8, recovered
            # 2 s socket timeout plus margin; before the fix, requests waited 12 s or more.
            assert slowest < 6, slowest
            assert time.monotonic() - severed < 30
            assert all(a.ok or a.codes == ["SERVICE_UNAVAILABLE"] for a in answers)
    finally:
        live.stop()
        proxy.close()
