"""Query counts: nested logs, users and UMKMs cost the same round trips for 1 or 50 UMKMs."""

from __future__ import annotations

import asyncio
from typing import Any

from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import financial as financial_writes
from sigma_graphql.core.pubsub import PubSub
from tests.fin_support import fin_umkm
from tests.support import Account, Api, Factory

NESTED = """
query($t: Int!) {
  flaggedFinancialLogs(tahun: $t, first: 100) {
    nodes {
      omzet
      inputBy { nama }
      flaggedBy { nama }
      umkm {
        namaUsaha
        summaryTerakhir { tahun bulan omzet }
        financialLogs(first: 24) {
          nodes { tahun bulan omzet inputBy { nama } flaggedBy { nama } umkm { id } }
          pageInfo { hasNextPage }
        }
      }
    }
  }
}
"""


async def _umkms_with_two_years(
    dbs: Databases, factory: Factory, staff: Account, count: int, first_year: int
) -> list[MongoDoc]:
    """`count` UMKMs, each with 24 months (two full years) and one flagged month."""
    owners = [await factory.account(session=False) for _ in range(count)]
    docs = [await fin_umkm(factory, o) for o in owners]
    # 16 writes at once: with 64, the MongoDB stand-in answered the driver's heartbeat late once
    # late in a full run, the driver paused its pool and every other write failed at once.
    gate = asyncio.Semaphore(16)

    async def write(doc: MongoDoc, tahun: int, bulan: int) -> None:
        async with gate:
            await financial_writes.submit(
                dbs,
                doc,
                tahun=tahun,
                bulan=bulan,
                omzet=tahun * 100 + bulan,
                jumlah_karyawan=2,
                catatan=None,
                by=doc["owner_id"],
            )

    await asyncio.gather(
        *(write(d, y, b) for d in docs for y in (first_year, first_year + 1) for b in range(1, 13))
    )
    pubsub = PubSub()
    for d in docs:
        outcome, _ = await financial_writes.flag(
            dbs,
            pubsub,
            d,
            tahun=first_year,
            bulan=6,
            reason="pemeriksaan rutin",
            by=staff.id,
            by_name=staff.doc["nama"],
        )
        assert outcome == "ok"
    return docs


async def _nested(api: Api, staff: Account, tahun: int) -> tuple[dict[str, Any], dict[str, int]]:
    resp = await api.as_(staff.token)(NESTED, {"t": tahun})
    return resp.ok(), resp.extensions["dbRoundTrips"]


async def test_round_trips_do_not_grow_with_the_number_of_umkms(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    staff = await factory.account("PEJABAT")
    await _umkms_with_two_years(dbs, factory, staff, 1, 2015)
    await _umkms_with_two_years(dbs, factory, staff, 50, 2017)
    one, trips_one = await _nested(api, staff, 2015)
    many, trips_many = await _nested(api, staff, 2017)
    assert len(one["flaggedFinancialLogs"]["nodes"]) == 1
    assert len(many["flaggedFinancialLogs"]["nodes"]) == 50
    for node in many["flaggedFinancialLogs"]["nodes"]:
        logs = node["umkm"]["financialLogs"]
        assert len(logs["nodes"]) == 24 and not logs["pageInfo"]["hasNextPage"]
        assert logs["nodes"][0]["tahun"] == 2018 and logs["nodes"][0]["bulan"] == 12
        assert node["flaggedBy"]["nama"] == staff.doc["nama"] and node["inputBy"]["nama"]
        assert node["umkm"]["summaryTerakhir"] == {"tahun": 2018, "bulan": 12, "omzet": 201812}
    # 50 UMKMs x 24 months with their users and profiles cost exactly what one UMKM costs:
    # one multi-partition read per wave on Cassandra, one $in per type on MongoDB.
    assert trips_many == trips_one, (trips_one, trips_many)
    assert trips_one["total"] <= 8, trips_one


NOTIFS = "{ notifications(first: 50) { nodes { id umkm { id namaUsaha } } } }"


async def test_notification_umkms_are_batched(api: Api, factory: Factory, dbs: Databases) -> None:
    pubsub = PubSub()
    staff = await factory.account("PEJABAT")
    few, lots = await factory.account(), await factory.account()
    counts = {}
    for owner, n in ((few, 1), (lots, 12)):
        for i in range(n):
            doc = await fin_umkm(factory, owner)
            await financial_writes.submit(
                dbs, doc, tahun=2019, bulan=1, omzet=i, jumlah_karyawan=1, catatan=None, by=None
            )
            outcome, _ = await financial_writes.flag(
                dbs,
                pubsub,
                doc,
                tahun=2019,
                bulan=1,
                reason="cek data omzet",
                by=staff.id,
                by_name="Staf",
            )
            assert outcome == "ok"
        resp = await api.as_(owner.token)(NOTIFS)
        assert len(resp.ok()["notifications"]["nodes"]) == n
        assert all(node["umkm"]["id"] for node in resp.data["notifications"]["nodes"])
        counts[n] = resp.round_trips
    assert counts[1] == counts[12]
