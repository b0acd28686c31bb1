"""Budgets shared by several API processes (sigma_graphql/limits/budget.py SharedBudget,
db/budgets.py):
one identity has one bucket however many processes serve it, leased without a round trip per
request, and concurrent takes never hand out the same points twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from db import budgets
from db.drivers.handles import Databases
from tests.support import Api, LiveServer
from tests.test_cost_limits import SPEND

AUDIENCES = ("PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN")


def _small(burst: int, **extra: Any) -> dict[str, Any]:
    # A burst no other test uses: buckets are keyed by identity *and* settings.
    return {
        "budget_burst": dict.fromkeys(AUDIENCES, burst),
        "budget_refill_per_s": dict.fromkeys(AUDIENCES, 0.001),
        "budget_shared": True,  # tests/conftest.py switches it off for the other tests
        **extra,
    }


async def _allowed(apis: list[Api], rounds: int) -> int:
    allowed = 0
    for i in range(rounds):
        resp = await apis[i % len(apis)](SPEND)
        if resp.error_codes == ["RATE_LIMITED"]:
            continue
        assert resp.ok()
        allowed += 1
    return allowed


async def test_two_processes_share_one_bucket(server_factory: Callable[..., LiveServer]) -> None:
    # 4 requests of INTROSPECTION_COST (50) fit a bucket of 210, whichever process they reach.
    apis = [Api(server_factory(**_small(210))) for _ in range(2)]
    assert await _allowed(apis, 10) == 4


async def test_per_process_buckets_when_not_shared(
    server_factory: Callable[..., LiveServer],
) -> None:
    # What the shared store prevents: each process grants the whole budget again.
    apis = [Api(server_factory(**_small(211, budget_shared=False))) for _ in range(2)]
    assert await _allowed(apis, 10) == 8


async def test_leases_spare_round_trips(server_factory: Callable[..., LiveServer]) -> None:
    # A lease is a tenth of the burst: 50-point requests from a 5000 bucket take one lease
    # of 500 (450 left in it, 4500 in the shared bucket), then spend it locally.
    api = Api(server_factory(**_small(5000)))
    first = await api(SPEND)
    rest = [await api(SPEND) for _ in range(5)]
    assert first.round_trips >= 2  # read + write of the shared bucket
    assert all(r.round_trips == 0 for r in rest), [r.round_trips for r in rest]
    assert [r.extensions["cost"]["remaining"] for r in rest] == [4900, 4850, 4800, 4750, 4700]


async def test_concurrent_takes_never_hand_out_points_twice(dbs: Databases) -> None:
    key = f"test|{uuid.uuid4().hex}"

    async def one() -> float:
        taken = await budgets.take(dbs.mongo, key, want=10, need=10, burst=100, rate=0.0)
        return taken.granted

    granted = await asyncio.gather(*(one() for _ in range(30)))
    assert sum(granted) == 100
    assert sorted(set(granted)) == [0.0, 10.0]
    refused = await budgets.take(dbs.mongo, key, want=10, need=10, burst=100, rate=0.0)
    assert refused.granted == 0 and refused.left == 0


async def test_concurrent_requests_of_one_identity_take_one_lease(
    server_factory: Callable[..., LiveServer],
) -> None:
    api = Api(server_factory(**_small(20_001)))  # a lease of 2000 covers all 16
    responses = await asyncio.gather(*(api(SPEND) for _ in range(16)))
    assert all(r.ok() for r in responses)
    # One find + one insert of the shared bucket for all 16 (SPEND itself reads nothing).
    assert sum(r.round_trips for r in responses) == 2
    assert min(r.extensions["cost"]["remaining"] for r in responses) == 20_001 - 16 * 50


async def test_remaining_never_exceeds_the_burst(
    server_factory: Callable[..., LiveServer],
) -> None:
    # A lease plus the shared bucket's refill must not report more than one full bucket.
    settings = _small(5002)
    settings["budget_refill_per_s"] = dict.fromkeys(AUDIENCES, 10_000.0)
    api = Api(server_factory(**settings))
    await api(SPEND)
    await asyncio.sleep(0.3)  # the shared bucket refills to full meanwhile
    again = await api(SPEND)
    assert again.ok()
    assert again.extensions["cost"]["remaining"] <= 5002
