"""officialDashboard.flaggedThisYear from the year's flagged count (flagged_counts, issue 16):
moved once per flip of a month's flag by flag, unflag and delete, healed by the reconciler after
a writer died between the flip and the count, set exact by rebuild-aggregates, and read with
the same round trips whatever the number of flags.

Years 2004 and 2006 belong to this module (no other test writes them), so their counts are
exact figures; the current year is shared with the other tests of the session, so its checks
compare with the recount from the source (fl.count_flagged_rows) and with differences.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from db import financial_logs as fl
from db import write_intents
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.maintenance.rebuild import rebuild_aggregates
from db.writes import financial as financial_writes
from sigma_graphql.core.clock import current_month
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.server.reconciler import Reconciler
from tests.fin_support import FLAG, UNFLAG, fin_umkm, submit
from tests.healing_support import open_intents
from tests.support import Api, Factory
from tests.test_financial_aggregates import _crash

DASHBOARD = "{ officialDashboard { flaggedThisYear } }"
DELETE = (
    "mutation($u: ID!, $t: Int!, $b: Int!) { "
    "deleteFinancialLog(umkmId: $u, tahun: $t, bulan: $b) { ok userErrors { code } } }"
)
REASON = "omzet tidak wajar dibanding bulan lalu"


def _flag_vars(umkm_id: uuid.UUID, tahun: int, bulan: int) -> dict[str, Any]:
    return {"input": {"umkmId": str(umkm_id), "tahun": tahun, "bulan": bulan, "reason": REASON}}


def _month(umkm_id: uuid.UUID, tahun: int, bulan: int) -> dict[str, Any]:
    return {"u": str(umkm_id), "t": tahun, "b": bulan}


async def _dashboard(staff: Api) -> int:
    return int((await staff(DASHBOARD)).ok()["officialDashboard"]["flaggedThisYear"])


async def _codes(staff: Api, query: str, variables: dict[str, Any], field: str) -> list[str]:
    return [e["code"] for e in (await staff(query, variables)).ok()[field]["userErrors"]]


async def _write(dbs: Databases, doc: MongoDoc, tahun: int, bulan: int, *, flag: bool) -> None:
    """One month written (and flagged) through the write flows, without HTTP."""
    await financial_writes.submit(
        dbs,
        doc,
        tahun=tahun,
        bulan=bulan,
        omzet=1_000_000,
        jumlah_karyawan=1,
        catatan=None,
        by=None,
    )
    if flag:
        outcome, _ = await financial_writes.flag(
            dbs, PubSub(), doc, tahun=tahun, bulan=bulan, reason=REASON, by=None, by_name=None
        )
        assert outcome == "ok", outcome


async def test_flag_unflag_and_delete_move_the_dashboard_count_once(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    year = current_month()[0]
    owner = await factory.account()
    staff = api.as_((await factory.account("PEJABAT")).token)
    admin = api.as_((await factory.account("ADMIN")).token)
    docs = [await fin_umkm(factory, owner) for _ in range(2)]
    a, b = docs[0]["_id"], docs[1]["_id"]
    for u in (a, b):
        await submit(api, owner.token, u, year, 1, 2_000_000)
    start = await _dashboard(staff)
    assert start == await fl.count_flagged_rows(dbs.cassandra, year)

    assert await _codes(staff, FLAG, _flag_vars(a, year, 1), "flagFinancialLog") == []
    assert await _dashboard(staff) == start + 1
    # flagging a flagged month again changes nothing
    again = await _codes(staff, FLAG, _flag_vars(a, year, 1), "flagFinancialLog")
    assert again == ["INVALID_STATE"]
    assert await _dashboard(staff) == start + 1
    # four staff flag the other month at once: one flip, counted once
    raced = await asyncio.gather(
        *(_codes(staff, FLAG, _flag_vars(b, year, 1), "flagFinancialLog") for _ in range(4))
    )
    assert sorted(map(tuple, raced)) == [
        (),
        ("INVALID_STATE",),
        ("INVALID_STATE",),
        ("INVALID_STATE",),
    ]
    assert await _dashboard(staff) == start + 2 == await fl.count_flagged_rows(dbs.cassandra, year)
    # the owner's re-submission keeps the flag, and the count
    assert (await submit(api, owner.token, b, year, 1, 2_500_000))["log"]["isFlagged"]
    assert await _dashboard(staff) == start + 2

    assert await _codes(staff, UNFLAG, _month(a, year, 1), "unflagFinancialLog") == []
    assert await _dashboard(staff) == start + 1
    # unflagging a month that is not flagged (any more, or missing) changes nothing
    again = await _codes(staff, UNFLAG, _month(a, year, 1), "unflagFinancialLog")
    assert again == ["INVALID_STATE"]
    missing = await _codes(staff, UNFLAG, _month(a, year, 2), "unflagFinancialLog")
    assert missing == ["NOT_FOUND"]
    assert await _dashboard(staff) == start + 1
    # deleting a flagged month takes its flag away; deleting an unflagged one does not
    gone = (await admin(DELETE, _month(b, year, 1))).ok()["deleteFinancialLog"]
    assert gone == {"ok": True, "userErrors": []}
    assert await _dashboard(staff) == start
    gone = (await admin(DELETE, _month(a, year, 1))).ok()["deleteFinancialLog"]
    assert gone == {"ok": True, "userErrors": []}
    assert await _dashboard(staff) == start == await fl.count_flagged_rows(dbs.cassandra, year)


async def test_the_count_never_goes_below_the_flags(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    """2004 has no flag: unflags of unflagged and missing months, repeated, leave it at 0."""
    owner = await factory.account()
    staff = api.as_((await factory.account("PEJABAT")).token)
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2004, 3, 1_000_000)
    for bulan, code in ((3, "INVALID_STATE"), (3, "INVALID_STATE"), (4, "NOT_FOUND")):
        got = await _codes(staff, UNFLAG, _month(doc["_id"], 2004, bulan), "unflagFinancialLog")
        assert got == [code]
    assert await fl.flagged_count(dbs.cassandra, 2004) == 0
    # a flag and two unflags racing: the count ends where the flag ends
    assert await _codes(staff, FLAG, _flag_vars(doc["_id"], 2004, 3), "flagFinancialLog") == []
    await asyncio.gather(
        *(staff(UNFLAG, _month(doc["_id"], 2004, 3)) for _ in range(2)),
    )
    assert await fl.flagged_count(dbs.cassandra, 2004) == 0
    assert await fl.count_flagged_rows(dbs.cassandra, 2004) == 0


async def test_rebuild_sets_a_drifted_count_and_reports_it(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    year = current_month()[0]
    staff = api.as_((await factory.account("PEJABAT")).token)
    doc = await fin_umkm(factory, None)
    await _write(dbs, doc, year, 2, flag=True)
    exact = await fl.count_flagged_rows(dbs.cassandra, year)
    assert await _dashboard(staff) == exact
    # counts moved by something that bypassed the flows: too high this year, below zero in 2004
    await fl.add_flagged(dbs.cassandra, year, 7)
    await fl.add_flagged(dbs.cassandra, 2004, -3)
    assert await _dashboard(staff) == exact + 7
    report = await rebuild_aggregates(dbs)
    assert report.flag_cells_fixed == 2 and "flag_cells_fixed=2" in str(report)
    assert await _dashboard(staff) == exact
    assert await fl.flagged_count(dbs.cassandra, 2004) == 0
    assert (await rebuild_aggregates(dbs)).flag_cells_fixed == 0


@pytest.mark.parametrize("op", ["flag", "unflag", "delete"])
async def test_killed_between_the_flip_and_the_count_heals(
    op: str, factory: Factory, dbs: Databases
) -> None:
    """The writer dies right after the LWT that flipped the month's flag: the count is one flip
    behind, the FLAG intent stays open, and the reconciler recounts the year (2006) and closes
    it; later rounds find nothing more."""
    cass = dbs.cassandra
    doc = await fin_umkm(factory, None)
    u = doc["_id"]
    await _write(dbs, doc, 2006, 5, flag=op != "flag")
    base = await fl.count_flagged_rows(cass, 2006)
    assert await fl.flagged_count(cass, 2006) == base
    assert await asyncio.to_thread(_crash, dbs, op, u, 2006, 5, at="after_flag_row") == 1
    want = base + 1 if op == "flag" else base - 1
    assert await fl.count_flagged_rows(cass, 2006) == want  # the flip landed
    assert await fl.flagged_count(cass, 2006) == base  # the count did not move
    assert write_intents.FLAG in {i.kind for i in await open_intents(dbs, u)}
    reconciler = Reconciler(dbs, interval_s=3600, repair_age_s=0.2, lease_s=5)
    fixed = 0
    try:
        for _ in range(50):  # rounds, not time: a repaired intent closes one round later
            report = await reconciler.run_once()
            fixed += report.flag_cells_fixed if report else 0
            if await fl.flagged_count(cass, 2006) == want and not await open_intents(dbs, u):
                break
            await asyncio.sleep(0.1)
        assert await fl.flagged_count(cass, 2006) == want
        assert await open_intents(dbs, u) == []
        assert fixed == 1
        for _ in range(2):
            report = await reconciler.run_once()
            assert report is not None and report.flag_cells_fixed == 0
        assert await fl.flagged_count(cass, 2006) == want
    finally:
        await reconciler.stop()


async def test_dashboard_round_trips_do_not_grow_with_flags(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    """The old count read the year's flagged_logs and then the flagged UMKMs' partitions, 100
    UMKMs per statement: 101 more flagged UMKMs cost at least one more round trip."""
    year = current_month()[0]
    staff = api.as_((await factory.account("PEJABAT")).token)
    query = (
        "{ officialDashboard { totalUmkm verifiedUmkm pendingVerifications flaggedThisYear "
        "totalOmzetLastMonth } }"
    )
    before = await staff(query)
    gate = asyncio.Semaphore(8)

    async def one() -> None:
        async with gate:
            await _write(dbs, await fin_umkm(factory, None), year, 1, flag=True)

    await asyncio.gather(*(one() for _ in range(101)))
    after = await staff(query)
    flagged = after.ok()["officialDashboard"]["flaggedThisYear"]
    assert flagged == before.ok()["officialDashboard"]["flaggedThisYear"] + 101
    assert flagged == await fl.count_flagged_rows(dbs.cassandra, year)
    assert after.round_trips == before.round_trips
