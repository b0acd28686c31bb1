"""Analytics over HTTP against a generated dataset, every figure against a brute-force
recomputation from the raw logs and profiles (tests/analytics_data.py).

The dataset mixes VERIFIED, PENDING, REJECTED, deleted and re-verified UMKMs, gaps, re-submitted
months, flagged months and UMKMs that stopped reporting.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.maintenance.rebuild import rebuild_aggregates
from db.notifications import create as create_notification
from sigma_graphql.analytics import forecast as forecasting
from sigma_graphql.analytics.growth import REKOMENDASI, health_status
from sigma_graphql.analytics.periods import (
    from_index,
    last_complete_months,
    latest_complete_quarter,
    month_index,
    previous_quarter,
    rolling_year,
)
from sigma_graphql.core.clock import current_month
from sigma_graphql.core.pubsub import PubSub
from tests.analytics_data import BruteForce, Ledger, counted
from tests.support import Account, Api, Factory
from tests.umkm_support import CREATE as UMKM_CREATE
from tests.umkm_support import valid_input

SECTORS = ("Kuliner", "Fashion", "Jasa", "Kriya")
KOTAS = ("Malang", "Surabaya", "Bandung", "Kota Analitik")
NOW_Y, NOW_M = current_month()
LAST = month_index(NOW_Y, NOW_M) - 1  # last complete month
FIRST = LAST - 33
_LQ_YEAR, _LQ = latest_complete_quarter(NOW_Y, NOW_M)
LATEST_QUARTER_START = (_LQ_YEAR, 3 * (_LQ - 1) + 1)


@dataclass
class World:
    owner_a: Account
    owner_b: Account
    pejabat: Account
    admin: Account
    umkms: list[MongoDoc]
    ledger: Ledger


@pytest.fixture(scope="module")
async def world(api: Api, factory: Factory, dbs: Databases) -> World:
    """26 UMKMs, all VERIFIED while their months are submitted (the write path requires it),
    then moved by the real mutations: re-verified, back to PENDING, REJECTED, deleted, deleted
    and restored, sektor changed by an admin."""
    rng = random.Random(6)
    owner_a = await factory.account("UMKM_OWNER")
    owner_b = await factory.account("UMKM_OWNER")
    pejabat = await factory.account("PEJABAT")
    admin = await factory.account("ADMIN")
    ledger = Ledger(dbs)
    umkms: list[MongoDoc] = []
    for i in range(26):
        needs_owner = i < 2 or i % 8 in (5, 6)
        owner = (owner_a, owner_b)[i % 2] if needs_owner else (owner_a, owner_b, None)[i % 3]
        doc = await factory.umkm(owner, sektor=SECTORS[i % 4], kota=KOTAS[(i // 2) % 4])
        umkms.append(doc)

    def months_of(i: int) -> list[tuple[int, int, bool, bool]]:
        if i == 25:
            return []  # never reported
        base = rng.randint(5, 80) * 1_000_000
        start = FIRST + rng.randint(0, 8)
        end = LAST - (4 + rng.randint(0, 6) if i % 5 == 3 else 0)  # some stopped reporting
        if i == 24:  # only two months (no forecast), one each side of the latest quarter's
            # start, so topGrowers ranks it in every month of the year (it did not when both
            # fell in one quarter: two months of every three)
            start = month_index(*LATEST_QUARTER_START) - 1
            end = start + 1
        plan = []
        for idx in range(start, end + 1):
            if rng.random() < 0.06 and idx not in (start, end):
                continue  # a gap
            omzet = int(base * (1 + 0.01 * (idx - start)) * rng.uniform(0.8, 1.2))
            if from_index(idx)[1] == 12:
                omzet = int(omzet * 1.4)
            plan.append((idx, omzet, rng.random() < 0.1, rng.random() < 0.1))
        return plan

    async def report(doc: MongoDoc, plan: list[tuple[int, int, bool, bool]]) -> None:
        for idx, omzet, resubmit, flag in plan:
            tahun, bulan = from_index(idx)
            if resubmit:  # a re-submitted month: the first value is replaced
                await ledger.put(doc, tahun, bulan, omzet * 2)
            await ledger.put(doc, tahun, bulan, omzet, flagged=flag and tahun == NOW_Y)

    plans = [months_of(i) for i in range(len(umkms))]  # drawn in order: the same every run
    await asyncio.gather(*(report(d, p) for d, p in zip(umkms, plans, strict=True)))
    tokens = {owner_a.id: owner_a.token, owner_b.id: owner_b.token}
    rename = {"input": {"namaUsaha": "Nama Baru Usaha"}}
    for i, doc in enumerate(umkms):
        owner_token = tokens.get(doc["owner_id"], "")
        if i < 2 or i % 8 in (5, 6):  # the owner's edit sends it back to PENDING
            await ledger.mutate(api, owner_token, doc, "updateUmkm", **rename)
        if i < 2:  # re-verified
            await ledger.mutate(api, pejabat.token, doc, "approveUmkm")
        elif i % 8 == 6:
            reason = "Dokumen legalitas belum lengkap"
            await ledger.mutate(api, pejabat.token, doc, "rejectUmkm", reason=reason)
        elif i % 8 == 7 or i == 2:
            await ledger.mutate(api, admin.token, doc, "deleteUmkm")
            if i == 2:
                await ledger.mutate(api, admin.token, doc, "restoreUmkm")
        elif i == 4:
            await ledger.mutate(api, admin.token, doc, "updateUmkm", input={"sektor": "Jasa"})
    states = {(d["legalitas"]["status_verifikasi"], d["is_deleted"]) for d in umkms}
    assert states == {
        ("VERIFIED", False),
        ("PENDING", False),
        ("REJECTED", False),
        ("VERIFIED", True),
    }
    return World(owner_a, owner_b, pejabat, admin, umkms, ledger)


def _months(stats: dict[Any, list[int]]) -> list[tuple[int, int, int, int]]:
    return sorted((y, m, v[0], v[1]) for (y, m), v in stats.items())


def _api_months(months: list[dict[str, Any]]) -> list[tuple[int, int, int, int]]:
    return [(m["tahun"], m["bulan"], m["totalOmzet"], m["jumlahUmkm"]) for m in months]


MONTHS = "months { tahun bulan totalOmzet jumlahUmkm }"


# ---------------------------------------------------------------- sector / region stats


async def test_sector_and_region_stats_match_brute_force(
    api: Api, world: World, dbs: Databases
) -> None:
    brute = await BruteForce.load(dbs)
    for tahun in sorted({from_index(i)[0] for i in range(FIRST, LAST + 1)}):
        for dimension, root, key in (
            ("sektor", "sectorStats", "sektor"),
            ("kota", "regionStats", "kota"),
        ):
            resp = await api(
                f"query($t: Int!) {{ {root}(tahun: $t) {{ {key} totalOmzet {MONTHS} }} }}",
                {"t": tahun},
            )
            got = {e[key]: (e["totalOmzet"], _api_months(e["months"])) for e in resp.ok()[root]}
            expected = {
                name: (sum(v[0] for v in stats.values()), _months(stats))
                for name, stats in brute.by_dimension(dimension, tahun).items()
            }
            assert got == expected, (root, tahun)
    one = await api(
        'query($t: Int!) { sectorStats(tahun: $t, sektor: "kuliner") { sektor totalOmzet } }',
        {"t": NOW_Y},
    )
    assert [e["sektor"] for e in one.ok()["sectorStats"]] == ["Kuliner"]
    # A kota nobody writes to (other modules write 2001 data for Malang UMKMs).
    none = await api(
        "query($k: String!) { regionStats(tahun: 2001, kota: $k) { kota } }",
        {"k": f"Kota Tanpa Data {uuid.uuid4().hex[:8]}"},
    )
    assert none.ok()["regionStats"] == []


# ---------------------------------------------------------------- revenue trend

TREND = (
    "query($t: Int, $s: String, $k: String) { revenueTrend(tahun: $t, sektor: $s, kota: $k) { "
    "totalOmzet byMonth { tahun bulan totalOmzet jumlahUmkm } "
    "bySector { name totalOmzet } byKota { name totalOmzet } } }"
)


def _named(stats: dict[str, dict[Any, list[int]]]) -> dict[str, int]:
    return {name: sum(v[0] for v in s.values()) for name, s in stats.items()}


async def test_revenue_trend_public_and_staff_from_aggregates(
    api: Api, world: World, dbs: Databases
) -> None:
    brute = await BruteForce.load(dbs)
    for token in (None, world.pejabat.token):
        for tahun in (None, NOW_Y - 1, NOW_Y):
            resp = await api.as_(token)(TREND, {"t": tahun})
            trend = resp.ok()["revenueTrend"]
            months = brute.months(tahun)
            assert trend["totalOmzet"] == sum(v[0] for v in months.values())
            assert _api_months(trend["byMonth"]) == _months(months)  # oldest first
            assert {n["name"]: n["totalOmzet"] for n in trend["bySector"]} == _named(
                brute.by_dimension("sektor", tahun)
            )
            assert {n["name"]: n["totalOmzet"] for n in trend["byKota"]} == _named(
                brute.by_dimension("kota", tahun)
            )
            totals = [n["totalOmzet"] for n in trend["bySector"]]
            assert totals == sorted(totals, reverse=True)
    # a sektor filter ignores case (canonical sector names)
    sektor = (await api(TREND, {"t": NOW_Y - 1, "s": "fashion"})).ok()["revenueTrend"]
    assert _api_months(sektor["byMonth"]) == _months(brute.trend(NOW_Y - 1, "Fashion")[0])
    assert [n["name"] for n in sektor["bySector"]] == ["Fashion"]


def _assert_trend(
    trend: dict[str, Any], expected: tuple[Any, dict[str, int], dict[str, int]]
) -> None:
    months, by_sector, by_kota = expected
    assert trend["totalOmzet"] == sum(v[0] for v in months.values())
    assert _api_months(trend["byMonth"]) == _months(months)
    for key, totals in (("bySector", by_sector), ("byKota", by_kota)):
        got = [(n["name"], n["totalOmzet"]) for n in trend[key]]
        assert got == sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])), key


async def test_revenue_trend_every_filter_combination_from_aggregates(
    api: Api, world: World, dbs: Databases
) -> None:
    """byKota under a sektor filter, bySector under a kota filter, both filters together, for
    one year and all years; staff and public alike; unknown names give an empty trend."""
    brute = await BruteForce.load(dbs)
    sektors = (None, "Kuliner", "Jasa", "Tidak Ada")
    kotas = (None, "Malang", "Kota Analitik", "Tidak Ada")
    seen_both = False
    for token in (None, world.pejabat.token):
        for tahun in (None, NOW_Y - 1):
            for s in sektors:
                for k in kotas:
                    resp = await api.as_(token)(TREND, {"t": tahun, "s": s, "k": k})
                    trend = resp.ok()["revenueTrend"]
                    expected = brute.trend(tahun, s, k)
                    _assert_trend(trend, expected)
                    if s and k and expected[0]:
                        seen_both = True
                        assert [n["name"] for n in trend["bySector"]] == [s]
                        assert [n["name"] for n in trend["byKota"]] == [k]
                    if s == "Kuliner" and k is None:
                        assert len(trend["byKota"]) >= 2  # a breakdown, not an empty list
                    if k == "Malang" and s is None:
                        assert len(trend["bySector"]) >= 2
    assert seen_both


async def test_names_and_months_without_umkms_are_left_out(
    api: Api, world: World, factory: Factory, dbs: Databases
) -> None:
    """Counter rows and dashboard_keys outlive the UMKMs they counted (only the rebuild prunes
    keys): a month, kota or sector whose every UMKM left the aggregates shows nowhere."""
    tag = uuid.uuid4().hex[:6]
    sektor, kota, tahun = f"Sektor Kosong {tag}", f"Kota Kosong {tag}", 2010
    a = await factory.umkm(None, sektor=sektor, kota=kota)
    b = await factory.umkm(None, sektor=sektor, kota=kota)
    for bulan in (1, 2, 3):
        await world.ledger.put(a, tahun, bulan, 1_000_000 * bulan)
    for bulan in (3, 4):
        await world.ledger.put(b, tahun, bulan, 7_000_000)
    await _repair_fixture_profiles(dbs)  # a and b counted in umkm_counts

    async def sector_months() -> list[tuple[int, int, int, int]]:
        resp = await api(
            f"query($t: Int!, $s: String) {{ sectorStats(tahun: $t, sektor: $s) {{ {MONTHS} }} }}",
            {"t": tahun, "s": sektor},
        )
        return [m for e in resp.ok()["sectorStats"] for m in _api_months(e["months"])]

    assert [m[1] for m in await sector_months()] == [1, 2, 3, 4]
    await world.ledger.mutate(api, world.admin.token, a, "deleteUmkm")
    # months 1 and 2 now count no UMKM: gone; month 3 counts b alone
    assert await sector_months() == [(tahun, 3, 7_000_000, 1), (tahun, 4, 7_000_000, 1)]
    await world.ledger.mutate(api, world.admin.token, b, "deleteUmkm")
    keys = await dbs.cassandra.execute(
        "SELECT name FROM dashboard_keys WHERE dimension = 'sektor' AND tahun = ?", (tahun,)
    )
    assert sektor in {k["name"] for k in keys}  # still listed: the readers must skip it
    assert await sector_months() == []
    sectors = (await api("{ sectorStats(tahun: 2010) { sektor } }")).ok()["sectorStats"]
    assert sektor not in {e["sektor"] for e in sectors}
    regions = (await api("{ regionStats(tahun: 2010) { kota } }")).ok()["regionStats"]
    assert kota not in {e["kota"] for e in regions}
    brute = await BruteForce.load(dbs)
    for token in (None, world.pejabat.token):
        for t in (tahun, None):
            for s, k in ((None, None), (sektor, None), (None, kota), (sektor, kota)):
                resp = await api.as_(token)(TREND, {"t": t, "s": s, "k": k})
                trend = resp.ok()["revenueTrend"]
                _assert_trend(trend, brute.trend(t, s, k))
                assert sektor not in {n["name"] for n in trend["bySector"]}
                assert kota not in {n["name"] for n in trend["byKota"]}
    # publicStats: the sector's and kota's umkm_counts rows are still there, at zero
    counts = await dbs.cassandra.execute(
        "SELECT name, n FROM umkm_counts WHERE scope = 'sektor' AND name = ?", (sektor,)
    )
    assert [c["n"] for c in counts] == [0]
    await _assert_profile_counts(api, world, dbs)


async def test_revenue_trend_owner_sees_only_own_umkms(
    api: Api, world: World, dbs: Databases
) -> None:
    brute = await BruteForce.load(dbs)
    for owner in (world.owner_a, world.owner_b):
        for tahun in (None, NOW_Y):
            trend = (await api.as_(owner.token)(TREND, {"t": tahun})).ok()["revenueTrend"]
            months = brute.months(tahun, owner=owner.id)
            assert _api_months(trend["byMonth"]) == _months(months)
            assert trend["totalOmzet"] == sum(v[0] for v in months.values())
    own = [d for d in world.umkms if d["owner_id"] == world.owner_a.id and not d["is_deleted"]]
    sektor = own[0]["sektor"]
    trend = (await api.as_(world.owner_a.token)(TREND, {"s": sektor})).ok()["revenueTrend"]
    expected = sum(
        r["omzet"]
        for r in brute.logs
        if any(d["_id"] == r["umkm_id"] and d["sektor"] == sektor for d in own)
    )
    assert trend["totalOmzet"] == expected
    assert [n["name"] for n in trend["bySector"]] == [sektor]


# ---------------------------------------------------------------- growth and top growers

GROWERS = (
    "query($t: Int!, $q: Int, $n: Int) { topGrowers(tahun: $t, quarter: $q, first: $n) { "
    "periode growthRate umkm { id growth { periode totalOmzet growthRate statusKesehatan "
    "rekomendasi } } } }"
)


def _expected_ranking(brute: BruteForce, tahun: int, quarter: int) -> list[tuple[str, float]]:
    q = tahun * 4 + quarter - 1
    rows: list[tuple[str, float]] = []
    for umkm_id, doc in brute.docs.items():
        if not counted(doc):
            continue
        growth = brute.quarter_growth(umkm_id)
        rate = growth[q][1] if q in growth and q - 1 in growth else None
        if rate is not None:
            rows.append((str(umkm_id), rate))
    return sorted(rows, key=lambda r: -r[1])


async def test_top_growers_and_growth_match_brute_force(
    api: Api, world: World, dbs: Databases
) -> None:
    brute = await BruteForce.load(dbs)
    staff = api.as_(world.pejabat.token)
    default_year, default_quarter = latest_complete_quarter(NOW_Y, NOW_M)
    for tahun, quarter in ((default_year, None), previous_quarter(default_year, default_quarter)):
        resp = await staff(GROWERS, {"t": tahun, "q": quarter, "n": 100})
        ranking = resp.ok()["topGrowers"]
        q = quarter or default_quarter
        expected = _expected_ranking(brute, tahun, q)
        assert [r["growthRate"] for r in ranking] == [e[1] for e in expected]
        assert {r["umkm"]["id"] for r in ranking} == {e[0] for e in expected}
        assert all(r["periode"] == f"{tahun}-Q{q}" for r in ranking)
        assert len(ranking) >= 5
        for entry in ranking:
            growth = brute.quarter_growth(uuid.UUID(entry["umkm"]["id"]))
            got = entry["umkm"]["growth"]
            assert [g["periode"] for g in got] == [
                f"{k // 4}-Q{k % 4 + 1}" for k in sorted(growth)
            ]  # oldest first, quarters with data only
            for g, k in zip(got, sorted(growth), strict=True):
                assert (g["totalOmzet"], g["growthRate"]) == growth[k]
                rate = growth[k][1]
                status = health_status(rate) if rate is not None else None
                assert g["statusKesehatan"] == status
                assert g["rekomendasi"] == (REKOMENDASI[status] if status else None)
    top1 = (await staff(GROWERS, {"t": default_year, "n": 1})).ok()["topGrowers"]
    assert len(top1) == 1
    bad = await staff(GROWERS, {"t": default_year, "q": 5})
    assert bad.error_codes == ["BAD_USER_INPUT"]
    assert (await staff(GROWERS, {"t": NOW_Y + 1})).ok()["topGrowers"] == []


async def test_growth_filtered_by_year(api: Api, world: World, dbs: Databases) -> None:
    brute = await BruteForce.load(dbs)
    staff = api.as_(world.pejabat.token)
    year, _ = latest_complete_quarter(NOW_Y, NOW_M)
    query = (
        "query($t: Int!, $y: Int) { topGrowers(tahun: $t, first: 3) { umkm { id "
        "growth(tahun: $y) { periode growthRate } } } }"
    )
    for entry in (await staff(query, {"t": year, "y": year - 1})).ok()["topGrowers"]:
        growth = brute.quarter_growth(uuid.UUID(entry["umkm"]["id"]))
        expected = [
            {"periode": f"{k // 4}-Q{k % 4 + 1}", "growthRate": growth[k][1]}
            for k in sorted(growth)
            if k // 4 == year - 1
        ]
        assert entry["umkm"]["growth"] == expected


# ---------------------------------------------------------------- forecast


async def test_forecast_through_the_api(api: Api, world: World, dbs: Databases) -> None:
    brute = await BruteForce.load(dbs)
    staff = api.as_(world.pejabat.token)
    year, _ = latest_complete_quarter(NOW_Y, NOW_M)
    query = (
        "query($t: Int!, $m: Int) { topGrowers(tahun: $t, first: 100) { umkm { id "
        "forecast(months: $m) { method points { tahun bulan predictedOmzet lower upper } } } } }"
    )
    resp = (await staff(query, {"t": year, "m": 5})).ok()["topGrowers"]
    seen_null = False
    for entry in resp:
        umkm_id = uuid.UUID(entry["umkm"]["id"])
        months = brute.umkm_months(umkm_id)
        expected = forecasting.forecast(months, 5)
        got = entry["umkm"]["forecast"]
        if expected is None:
            assert got is None
            seen_null = True
            continue
        assert got["method"] == expected.method
        assert [
            (p["tahun"], p["bulan"], p["predictedOmzet"], p["lower"], p["upper"])
            for p in got["points"]
        ] == [(p.tahun, p.bulan, p.predicted, p.lower, p.upper) for p in expected.points]
        last = month_index(*months[-1][:2])
        assert [(p["tahun"], p["bulan"]) for p in got["points"]] == [
            from_index(last + h) for h in range(1, 6)
        ]
        assert all(p["lower"] <= p["predictedOmzet"] <= p["upper"] for p in got["points"])
    assert seen_null  # the UMKM with two months of data
    bad = await staff(query, {"t": year, "m": 13})
    assert bad.error_codes and set(bad.error_codes) == {"BAD_USER_INPUT"}


async def test_growth_and_forecast_visibility_per_audience(api: Api, world: World) -> None:
    verified = next(d for d in world.umkms if counted(d) and d["owner_id"] == world.owner_a.id)
    query = "query($id: ID!) { umkm(id: $id) { growth { periode } forecast { method } } }"
    resp = await api(query, {"id": str(verified["_id"])})
    if resp.error_codes == ["INTERNAL_SERVER_ERROR"]:
        pytest.skip("Query.umkm arrives with the UMKM branch")
    public = resp.ok()["umkm"]
    assert public == {"growth": [], "forecast": None}
    other = (await api.as_(world.owner_b.token)(query, {"id": str(verified["_id"])})).ok()
    assert other["umkm"] in (None, {"growth": [], "forecast": None})
    for token in (world.owner_a.token, world.pejabat.token, world.admin.token):
        seen = (await api.as_(token)(query, {"id": str(verified["_id"])})).ok()["umkm"]
        assert seen["growth"] and seen["forecast"]["method"]


# ---------------------------------------------------------------- dashboards


async def _repair_fixture_profiles(dbs: Databases) -> None:
    """Fixtures (Factory.umkm, insert_umkm) write profiles straight into MongoDB, like a data
    import, bypassing the hook that keeps umkm_counts; the rebuild counts them, as it would
    after an import. Every later change in these tests goes through the mutations."""
    await rebuild_aggregates(dbs)


def _kota(doc: MongoDoc) -> str | None:
    return (doc.get("wilayah") or {}).get("kota")


async def _assert_profile_counts(api: Api, world: World, dbs: Databases) -> None:
    """publicStats and officialDashboard counts against the profiles, counted the long way."""
    brute = await BruteForce.load(dbs)
    live = [d for d in brute.docs.values() if not d.get("is_deleted")]
    verified = [d for d in live if counted(d)]
    public = (await api("{ publicStats { verifiedUmkm sectors cities } }")).ok()["publicStats"]
    assert public == {
        "verifiedUmkm": len(verified),
        "sectors": len({d.get("sektor") for d in verified} - {None}),
        "cities": len({_kota(d) for d in verified} - {None}),
    }
    official = (
        await api.as_(world.pejabat.token)(
            "{ officialDashboard { totalUmkm verifiedUmkm pendingVerifications } }"
        )
    ).ok()["officialDashboard"]
    assert official == {
        "totalUmkm": len(live),
        "verifiedUmkm": len(verified),
        "pendingVerifications": sum(
            1 for d in live if d["legalitas"]["status_verifikasi"] == "PENDING"
        ),
    }


async def test_public_stats_match_brute_force(api: Api, world: World, dbs: Databases) -> None:
    await _repair_fixture_profiles(dbs)
    brute = await BruteForce.load(dbs)
    live = [d for d in brute.docs.values() if counted(d)]
    stats = (await api("{ publicStats { verifiedUmkm sectors cities totalOmzetLastYear } }")).ok()[
        "publicStats"
    ]
    assert stats == {
        "verifiedUmkm": len(live),
        "sectors": len({d.get("sektor") for d in live} - {None}),
        "cities": len({_kota(d) for d in live} - {None}),
        "totalOmzetLastYear": sum(
            v[0]
            for (y, m), v in brute.months(None).items()
            if LAST - 11 <= month_index(y, m) <= LAST
        ),
    }


def test_rolling_year_is_the_last_twelve_complete_months() -> None:
    assert rolling_year(2026, 1) == ((2025, 1), (2025, 12))
    assert rolling_year(2026, 3) == ((2025, 3), (2026, 2))
    assert rolling_year(2026, 12) == ((2025, 12), (2026, 11))


async def test_total_omzet_last_year_spans_the_year_boundary(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    """The months just outside (13 months ago, the current month) do not count; the oldest and
    newest complete months and the December/January inside the window do."""
    query = "{ publicStats { totalOmzetLastYear } }"
    before = int((await api(query)).ok()["publicStats"]["totalOmzetLastYear"])
    doc = await factory.umkm(None, sektor="Kuliner", kota="Kota Rolling")
    december = next(i for i in range(LAST - 11, LAST + 1) if from_index(i)[1] == 12)
    inside = sorted({LAST - 11, december, min(december + 1, LAST), LAST})
    outside = [LAST - 12, LAST + 1]
    ledger = Ledger(dbs)
    for n, idx in enumerate([*inside, *outside]):
        await ledger.put(doc, *from_index(idx), omzet=1_000_000 * 10**n)
    assert {from_index(i)[0] for i in inside} == ({NOW_Y - 1} if NOW_M == 1 else {NOW_Y - 1, NOW_Y})
    after = int((await api(query)).ok()["publicStats"]["totalOmzetLastYear"])
    assert after - before == sum(1_000_000 * 10**n for n in range(len(inside)))


async def test_profile_counts_follow_every_umkm_mutation(
    api: Api, world: World, dbs: Databases
) -> None:
    """umkm_counts is kept by the hook every UMKM mutation calls: create (PENDING), approve,
    a sektor change, delete, restore, an owner's edit (back to PENDING), reject; after each,
    both dashboards agree with the profiles. A new kota and sector appear and disappear."""
    await _repair_fixture_profiles(dbs)
    await _assert_profile_counts(api, world, dbs)
    tag = uuid.uuid4().hex[:6]
    wilayah = {"kota": f"Kota Hitung {tag}", "provinsi": "jawa timur", "alamatLengkap": "Jl. 1"}
    made = await api.as_(world.owner_b.token)(
        UMKM_CREATE, {"input": valid_input(sektor="manufaktur", wilayah=wilayah)}
    )
    payload = made.ok()["createUmkm"]
    assert payload["userErrors"] == [], payload
    doc = await world.ledger.refresh({"_id": uuid.UUID(payload["umkm"]["id"])})
    assert doc["legalitas"]["status_verifikasi"] == "PENDING"
    await _assert_profile_counts(api, world, dbs)
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (world.pejabat.token, "approveUmkm", {}),
        (world.admin.token, "updateUmkm", {"input": {"sektor": "Pertanian"}}),
        (world.admin.token, "deleteUmkm", {}),
        (world.admin.token, "restoreUmkm", {}),
        (world.owner_b.token, "updateUmkm", {"input": {"namaUsaha": f"Usaha Hitung {tag}"}}),
        (world.pejabat.token, "rejectUmkm", {"reason": "Dokumen legalitas belum lengkap"}),
    ]
    cities = []
    for token, mutation, args in steps:
        await world.ledger.mutate(api, token, doc, mutation, **args)
        await _assert_profile_counts(api, world, dbs)
        stats = (await api("{ publicStats { cities } }")).ok()["publicStats"]
        cities.append(stats["cities"])
    # the new kota counts while the UMKM is VERIFIED and live only
    assert cities[0] == cities[1] == cities[3] == cities[2] + 1 == cities[5] + 1


OFFICIAL = (
    "{ officialDashboard { totalUmkm verifiedUmkm pendingVerifications flaggedThisYear "
    "totalOmzetLastMonth notReporting { totalCount nodes { id } pageInfo { hasNextPage } } } }"
)


async def test_official_dashboard_matches_brute_force(
    api: Api, world: World, dbs: Databases
) -> None:
    await _repair_fixture_profiles(dbs)
    brute = await BruteForce.load(dbs)
    docs = list(brute.docs.values())
    dash = (await api.as_(world.pejabat.token)(OFFICIAL)).ok()["officialDashboard"]
    last_y, last_m = from_index(LAST)
    not_reporting = brute.not_reporting(last_complete_months(NOW_Y, NOW_M, 3))
    assert not_reporting  # the dataset has UMKMs that stopped reporting and one that never did
    assert dash["totalUmkm"] == sum(1 for d in docs if not d["is_deleted"])
    assert dash["verifiedUmkm"] == sum(1 for d in docs if counted(d))
    assert dash["pendingVerifications"] == sum(
        1 for d in docs if not d["is_deleted"] and d["legalitas"]["status_verifikasi"] == "PENDING"
    )
    assert dash["flaggedThisYear"] == sum(
        1 for r in brute.logs if r["tahun"] == NOW_Y and r["is_flagged"]
    )
    assert dash["totalOmzetLastMonth"] == brute.months(last_y)[(last_y, last_m)][0]
    page = dash["notReporting"]
    assert page["totalCount"] == len(not_reporting)
    assert {n["id"] for n in page["nodes"]} <= {str(i) for i in not_reporting}
    assert len(page["nodes"]) == min(20, len(not_reporting))
    assert page["pageInfo"]["hasNextPage"] == (len(not_reporting) > 20)
    paged: list[str] = []
    after = None
    while True:
        resp = await api.as_(world.pejabat.token)(
            "query($a: String) { officialDashboard { notReporting(first: 2, after: $a) { "
            "totalCount nodes { id } pageInfo { hasNextPage endCursor } } } }",
            {"a": after},
        )
        conn = resp.ok()["officialDashboard"]["notReporting"]
        paged += [n["id"] for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert sorted(paged) == sorted(str(i) for i in not_reporting)  # every one, once
    bad = await api.as_(world.pejabat.token)(
        '{ officialDashboard { notReporting(after: "eyJ4IjoxfQ") { totalCount } } }'
    )
    assert bad.error_codes == ["BAD_USER_INPUT"]
    admin = (await api.as_(world.admin.token)(OFFICIAL)).ok()["officialDashboard"]
    assert admin["totalUmkm"] == dash["totalUmkm"]


async def test_owner_dashboard_matches_brute_force(api: Api, world: World, dbs: Databases) -> None:
    owner = world.owner_a
    for i in range(3):
        await create_notification(
            dbs, PubSub(), owner_id=owner.id, type="UMKM_VERIFIED", title=f"t{i}",
            message="m", umkm_id=None,
        )  # fmt: skip
    inbox = await dbs.cassandra.execute(
        "SELECT is_read FROM flag_notifications WHERE owner_id = ?", (owner.id,)
    )
    brute = await BruteForce.load(dbs)
    own = [d for d in brute.docs.values() if d["owner_id"] == owner.id and not d["is_deleted"]]
    own_ids = {d["_id"] for d in own}
    own_logs = [r for r in brute.logs if r["umkm_id"] in own_ids]
    query = (
        "{ ownerDashboard { totalUmkm pendingVerifications flaggedThisYear unreadNotifications "
        "recentLogs { umkmId tahun bulan omzet tanggalInput } } }"
    )
    dash = (await api.as_(owner.token)(query)).ok()["ownerDashboard"]
    assert dash["totalUmkm"] == len(own)
    assert dash["pendingVerifications"] == sum(
        1 for d in own if d["legalitas"]["status_verifikasi"] == "PENDING"
    )
    assert dash["flaggedThisYear"] == sum(
        1 for r in own_logs if r["tahun"] == NOW_Y and r["is_flagged"]
    )
    assert dash["unreadNotifications"] == sum(1 for n in inbox if not n["is_read"]) >= 3
    recent = sorted(
        own_logs,
        key=lambda r: (r["tanggal_input"], r["tahun"], r["bulan"], str(r["umkm_id"])),
        reverse=True,
    )[:10]
    assert [
        (log["umkmId"], log["tahun"], log["bulan"], log["omzet"]) for log in dash["recentLogs"]
    ] == [(str(r["umkm_id"]), r["tahun"], r["bulan"], r["omzet"]) for r in recent]
    assert dash["recentLogs"][0]["tanggalInput"].endswith("+00:00")


# ---------------------------------------------------------------- visibility


@pytest.mark.parametrize(
    ("query", "allowed"),
    [
        ("{ topGrowers(tahun: 2025) { periode } }", {"PEJABAT", "ADMIN"}),
        ("{ suspiciousFinancialLogs(tahun: 2025) { score } }", {"PEJABAT", "ADMIN"}),
        ("{ officialDashboard { totalUmkm } }", {"PEJABAT", "ADMIN"}),
        ("{ ownerDashboard { totalUmkm } }", {"UMKM_OWNER"}),
        ("{ sectorStats(tahun: 2025) { sektor } }", {"PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN"}),
        ("{ regionStats(tahun: 2025) { kota } }", {"PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN"}),
        ("{ revenueTrend { totalOmzet } }", {"PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN"}),
        ("{ publicStats { verifiedUmkm } }", {"PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN"}),
    ],
)
async def test_visibility_per_audience(
    api: Api, world: World, query: str, allowed: set[str]
) -> None:
    tokens = {
        "PUBLIC": None,
        "UMKM_OWNER": world.owner_a.token,
        "PEJABAT": world.pejabat.token,
        "ADMIN": world.admin.token,
    }
    for audience, token in tokens.items():
        resp = await api.as_(token)(query)
        if audience in allowed:
            assert not resp.errors, (audience, resp.errors)
        else:
            expected = "UNAUTHENTICATED" if audience == "PUBLIC" else "FORBIDDEN"
            assert resp.error_codes == [expected], (audience, resp.errors)
            assert resp.data is None


# ---------------------------------------------------------------- round trips


async def test_round_trips_do_not_grow_with_umkms(
    api: Api, world: World, factory: Factory, dbs: Databases
) -> None:
    staff = api.as_(world.pejabat.token)
    year, quarter = latest_complete_quarter(NOW_Y, NOW_M)
    queries = [
        (None, "{ sectorStats(tahun: $Y) { sektor " + MONTHS + " } }"),
        (None, "{ regionStats(tahun: $Y) { kota " + MONTHS + " } }"),
        (None, "{ revenueTrend(tahun: $Y) { totalOmzet byKota { name } } }"),
        (None, '{ revenueTrend(sektor: "Kuliner") { totalOmzet byKota { name } } }'),
        (None, '{ revenueTrend(kota: "Malang") { totalOmzet bySector { name } } }'),
        (None, '{ revenueTrend(tahun: $Y, sektor: "Jasa", kota: "Bandung") { totalOmzet } }'),
        (None, "{ publicStats { verifiedUmkm totalOmzetLastYear } }"),
        (world.pejabat.token, OFFICIAL),
        (
            world.pejabat.token,
            "{ topGrowers(tahun: $Q, first: 100) { umkm { id growth { periode } "
            "forecast { method } } } }",
        ),
    ]
    queries = [
        (token, q.replace("$Y", str(NOW_Y)).replace("$Q", str(year))) for token, q in queries
    ]
    before = [(await api.as_(token)(q)).round_trips for token, q in queries]
    rng = random.Random(9)
    for i in range(12):  # more VERIFIED UMKMs reporting in the same sectors and kotas
        doc = await factory.umkm(None, sektor=SECTORS[i % 4], kota=KOTAS[i % 4])
        for idx in range(LAST - 7, LAST + 1):
            await world.ledger.put(doc, *from_index(idx), rng.randint(1, 9) * 10_000_000)
    after = [(await api.as_(token)(q)).round_trips for token, q in queries]
    assert before == after
    # A list of 1 UMKM and a list of many cost the same (nested growth/forecast are batched).
    nested = (
        "query($t: Int!, $q: Int, $n: Int) { topGrowers(tahun: $t, quarter: $q, first: $n) { "
        "umkm { growth { periode } forecast { method } } } }"
    )
    one = await staff(nested, {"t": year, "q": quarter, "n": 1})
    many = await staff(nested, {"t": year, "q": quarter, "n": 30})
    assert len(many.ok()["topGrowers"]) > 10
    assert one.round_trips == many.round_trips


async def test_owner_round_trips_grow_at_most_with_own_umkms(
    api: Api, world: World, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    query = "{ ownerDashboard { totalUmkm recentLogs { omzet } } revenueTrend { totalOmzet } }"
    doc = await factory.umkm(owner)
    await world.ledger.put(doc, *from_index(LAST), 1_000_000)
    one = (await api.as_(owner.token)(query)).round_trips
    for _ in range(5):
        doc = await factory.umkm(owner)
        for idx in range(LAST - 14, LAST + 1):
            await world.ledger.put(doc, *from_index(idx), 2_000_000)
    assert (await api.as_(owner.token)(query)).round_trips == one


# ---------------------------------------------------------------- anomalies

ANOMALIES = (
    "query($t: Int!, $b: Int, $n: Int) { suspiciousFinancialLogs(tahun: $t, bulan: $b, "
    "first: $n) { score reason log { umkmId tahun bulan omzet } } }"
)


async def test_suspicious_logs_find_planted_anomalies_not_the_lebaran_peak(
    api: Api, world: World, factory: Factory
) -> None:
    """2013 (Lebaran in August): 40 VERIFIED UMKMs in two sectors share the peak; two of them
    jump (one on top of the peak), one collapses; an unverified and a deleted UMKM jump too
    but are not scanned."""
    rng = random.Random(2013)
    planted: dict[tuple[str, int], float] = {}
    plants = {3: (5, 10.0), 17: (10, 0.05), 30: (8, 9.0)}  # i -> (bulan, factor)
    # Every UMKM has an owner (UMKMs of other tests scanned beside them do too), so the nested
    # query below loads owners whether it lists 1 or 30.
    owner = await factory.account("UMKM_OWNER")
    for i in range(40):
        doc = await factory.umkm(owner, sektor=("Kuliner", "Fashion")[i % 2], kota="Kota Anomali")
        base = rng.randint(10, 60) * 1_000_000
        for idx in range(month_index(2012, 9), month_index(2013, 12) + 1):
            tahun, bulan = from_index(idx)
            omzet = base * (1.8 if (tahun, bulan) == (2013, 8) else 1.0) * rng.uniform(0.92, 1.08)
            if tahun == 2013 and i in plants and plants[i][0] == bulan:
                omzet *= plants[i][1]
                planted[(str(doc["_id"]), bulan)] = plants[i][1]
            await world.ledger.put(doc, tahun, bulan, int(omzet))
    for status, deleted in (("PENDING", False), ("VERIFIED", True)):
        doc = await factory.umkm(None, kota="Kota Anomali")
        for bulan in range(1, 13):
            await world.ledger.put(doc, 2013, bulan, 50_000_000 if bulan == 6 else 1_000_000)
        await world.ledger.set_state(doc, status, deleted)
    staff = api.as_(world.pejabat.token)
    found = (await staff(ANOMALIES, {"t": 2013, "n": 10})).ok()["suspiciousFinancialLogs"]
    assert {(a["log"]["umkmId"], a["log"]["bulan"]) for a in found[:3]} == set(planted)
    scores = [a["score"] for a in found]
    assert scores == sorted(scores, reverse=True) and scores[2] > 2 * scores[3]
    reasons = {a["log"]["bulan"]: a["reason"] for a in found[:3]}
    assert reasons[5].startswith("Omzet naik 10,") and "kali lipat dibanding median" in reasons[5]
    assert reasons[10].startswith("Omzet turun menjadi 5% dibanding median 3 bulan")
    assert "UMKM sektor" in reasons[8]
    august = (await staff(ANOMALIES, {"t": 2013, "b": 8, "n": 100})).ok()
    assert august["suspiciousFinancialLogs"]
    peak = [
        a["score"]
        for a in august["suspiciousFinancialLogs"]
        if (a["log"]["umkmId"], 8) not in planted
    ]
    assert len(peak) >= 39 and max(peak) < 5  # the shared +80% peak is not suspicious
    may = (await staff(ANOMALIES, {"t": 2013, "b": 5, "n": 1})).ok()["suspiciousFinancialLogs"]
    assert [(a["log"]["umkmId"], a["log"]["bulan"]) for a in may] == [
        k for k in planted if k[1] == 5
    ]
    nested = (
        "query($n: Int) { suspiciousFinancialLogs(tahun: 2013, first: $n) { score "
        "log { umkm { namaUsaha owner { nama } } } } }"
    )
    one, many = await staff(nested, {"n": 1}), await staff(nested, {"n": 30})
    assert len(many.ok()["suspiciousFinancialLogs"]) == 30
    assert all(a["log"]["umkm"]["namaUsaha"] for a in many.data["suspiciousFinancialLogs"])
    assert one.round_trips == many.round_trips
    assert (await staff(ANOMALIES, {"t": 2013, "b": 13})).error_codes == ["BAD_USER_INPUT"]
    assert (await staff(ANOMALIES, {"t": 2013, "n": 101})).error_codes == ["BAD_USER_INPUT"]
