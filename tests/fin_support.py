"""Helpers for the financial tests: GraphQL snippets and a from-scratch aggregate recomputation.

`expected_state` recomputes, from the logs and the profiles only (never from counted_* or the
counters), what every aggregate should hold for a set of UMKMs; `actual_state` reads what the
aggregate tables and summaries hold for the same cells. Tests give their UMKMs sektor/kota names
of their own, so cells are not shared with other tests of the session.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import aggregates, umkm_counts
from tests.support import Account, Api, Factory

SUBMIT = """
mutation($input: SubmitFinancialLogInput!) {
  submitFinancialLog(input: $input) {
    log { umkmId tahun bulan omzet jumlahKaryawan catatan tanggalInput isFlagged flagReason
          flaggedByName }
    userErrors { field message code }
  }
}
"""

FLAG = """
mutation($input: FlagInput!) {
  flagFinancialLog(input: $input) {
    log { tahun bulan isFlagged flagReason flaggedByName flaggedAt flaggedBy { id } }
    userErrors { field message code }
  }
}
"""

UNFLAG = """
mutation($u: ID!, $t: Int!, $b: Int!) {
  unflagFinancialLog(umkmId: $u, tahun: $t, bulan: $b) {
    log { isFlagged flagReason flaggedAt }
    userErrors { field message code }
  }
}
"""


async def submit(
    api: Api,
    token: str,
    umkm_id: uuid.UUID | str,
    tahun: int,
    bulan: int,
    omzet: int,
    jumlah_karyawan: int = 3,
    catatan: str | None = None,
) -> dict[str, Any]:
    resp = await api.as_(token)(
        SUBMIT,
        {
            "input": {
                "umkmId": str(umkm_id),
                "tahun": tahun,
                "bulan": bulan,
                "omzet": omzet,
                "jumlahKaryawan": jumlah_karyawan,
                "catatan": catatan,
            }
        },
    )
    return resp.ok()["submitFinancialLog"]  # type: ignore[no-any-return]


Cell = tuple[str, int, int]
PairCell = tuple[str, int, str, int]  # (sektor, tahun, kota, bulan)


@dataclass
class State:
    sector: dict[Cell, tuple[int, int]]
    region: dict[Cell, tuple[int, int]]
    quarters: dict[tuple[uuid.UUID, int, int], tuple[int, int]]
    summaries: dict[uuid.UUID, dict[str, int] | None]
    pair: dict[PairCell, tuple[int, int]]


async def _all_logs(dbs: Databases, umkm_id: uuid.UUID) -> list[dict[str, Any]]:
    years = await fl.years(dbs.cassandra, umkm_id)
    parts = await asyncio.gather(*(fl.partition(dbs.cassandra, umkm_id, y) for y in years))
    return [r for p in parts for r in p]


async def expected_state(dbs: Databases, umkm_ids: list[uuid.UUID], years: list[int]) -> State:
    sector: dict[Cell, list[int]] = defaultdict(lambda: [0, 0])
    region: dict[Cell, list[int]] = defaultdict(lambda: [0, 0])
    quarters: dict[tuple[uuid.UUID, int, int], list[int]] = defaultdict(lambda: [0, 0])
    summaries: dict[uuid.UUID, dict[str, int] | None] = {}
    pair: dict[PairCell, list[int]] = defaultdict(lambda: [0, 0])
    docs = {d["_id"]: d for d in await umkm_profiles.find_by_ids(dbs.mongo, umkm_ids)}
    logs = await asyncio.gather(*(_all_logs(dbs, u) for u in umkm_ids))
    for umkm_id, rows in zip(umkm_ids, logs, strict=True):
        doc: MongoDoc = docs[umkm_id]
        newest = max(rows, key=lambda r: (r["tahun"], r["bulan"]), default=None)
        summaries[umkm_id] = (
            None
            if newest is None
            else {"tahun": newest["tahun"], "bulan": newest["bulan"], "omzet": newest["omzet"]}
        )
        verified = doc["legalitas"]["status_verifikasi"] == "VERIFIED"
        if not verified or doc["is_deleted"]:
            continue
        for r in rows:
            for table, name in ((sector, doc["sektor"]), (region, doc["wilayah"]["kota"])):
                cell = table[(name, r["tahun"], r["bulan"])]
                cell[0] += r["omzet"]
                cell[1] += 1
            both = pair[(doc["sektor"], r["tahun"], doc["wilayah"]["kota"], r["bulan"])]
            both[0] += r["omzet"]
            both[1] += 1
            q = quarters[(umkm_id, r["tahun"], aggregates.quarter_of(r["bulan"]))]
            q[0] += r["omzet"]
            q[1] += 1
    del years
    return State(
        {k: (v[0], v[1]) for k, v in sector.items()},
        {k: (v[0], v[1]) for k, v in region.items()},
        {k: (v[0], v[1]) for k, v in quarters.items()},
        summaries,
        {k: (v[0], v[1]) for k, v in pair.items()},
    )


async def actual_state(
    dbs: Databases,
    umkm_ids: list[uuid.UUID],
    sektors: list[str],
    kotas: list[str],
    years: list[int],
) -> State:
    cass = dbs.cassandra

    async def cells(table: str, col: str, count_col: str, names: list[str]) -> dict[Cell, Any]:
        out: dict[Cell, tuple[int, int]] = {}
        for name in names:
            for y in years:
                rows = await cass.execute(
                    f"SELECT bulan, total_omzet, {count_col} FROM {table} "
                    f"WHERE {col} = ? AND tahun = ?",
                    (name, y),
                )
                for r in rows:
                    value = (r["total_omzet"] or 0, r[count_col] or 0)
                    if value != (0, 0):
                        out[(name, y, r["bulan"])] = value
        return out

    pair: dict[PairCell, tuple[int, int]] = {}
    for sektor in sektors:  # whole (sektor, tahun) partitions: every kota of the sector
        for y in years:
            rows = await cass.execute(
                "SELECT kota, bulan, total_omzet, jumlah_umkm FROM dashboard_sector_region_stats "
                "WHERE sektor = ? AND tahun = ?",
                (sektor, y),
            )
            for r in rows:
                value = (r["total_omzet"] or 0, r["jumlah_umkm"] or 0)
                if value != (0, 0):
                    pair[(sektor, y, r["kota"], r["bulan"])] = value
    quarters: dict[tuple[uuid.UUID, int, int], tuple[int, int]] = {}
    for u in umkm_ids:
        for y in years:
            for q in (1, 2, 3, 4):
                rows = await cass.execute(
                    "SELECT total_omzet, months FROM umkm_quarter_totals "
                    "WHERE tahun = ? AND quarter = ? AND bucket = ? AND umkm_id = ?",
                    (y, q, aggregates.quarter_bucket(u), u),
                )
                if rows and (rows[0]["total_omzet"] or rows[0]["months"]):
                    quarters[(u, y, q)] = (rows[0]["total_omzet"], rows[0]["months"])
    docs = await umkm_profiles.find_by_ids(dbs.mongo, umkm_ids)
    return State(
        await cells("dashboard_sector_stats", "sektor", "total_umkm", sektors),
        await cells("dashboard_region_stats", "kota", "umkm_aktif", kotas),
        quarters,
        {d["_id"]: d.get("summary_terakhir") for d in docs},
        pair,
    )


async def assert_exact(
    dbs: Databases,
    umkm_ids: list[uuid.UUID],
    sektors: list[str],
    kotas: list[str],
    years: list[int],
) -> None:
    want = await expected_state(dbs, umkm_ids, years)
    have = await actual_state(dbs, umkm_ids, sektors, kotas, years)
    assert have.sector == want.sector
    assert have.region == want.region
    assert have.pair == want.pair
    assert have.quarters == want.quarters
    assert have.summaries == want.summaries


async def fin_umkm(factory: Factory, owner: Account | None, **kw: Any) -> MongoDoc:
    """An UMKM without a location: these tests create many, and must not crowd geo searches.
    Then the hook createUmkm calls (the factory writes MongoDB only), so it is counted."""
    doc = await factory.umkm(owner, latitude=None, longitude=None, **kw)
    await aggregates.on_umkm_changed(factory.dbs, None, doc)
    return doc


async def status_counts(dbs: Databases) -> dict[str, int]:
    """The 'status' partition of umkm_counts, as stored (zero rows included)."""
    rows = await dbs.cassandra.execute("SELECT name, n FROM umkm_counts WHERE scope = 'status'", ())
    return {r["name"]: r["n"] or 0 for r in rows if r["n"]}


async def assert_counts_exact(
    dbs: Databases,
    umkm_ids: list[uuid.UUID],
    names: list[str],
    baseline: dict[str, int],
    start: dict[uuid.UUID, umkm_counts.Counted],
) -> None:
    """umkm_counts against a recomputation from the profiles: each UMKM's umkm_counted row; the
    sektor/kota counters of `names` (this test's own names: only its UMKMs count there); the
    status counters moved from `baseline` by exactly what these UMKMs' profiles moved since
    `start` (nothing else writes profiles while a test runs)."""
    docs = {d["_id"]: d for d in await umkm_profiles.find_by_ids(dbs.mongo, umkm_ids)}
    want = {u: umkm_counts.counted_of(docs[u]) for u in umkm_ids}
    recorded = await umkm_counts.counted_rows(dbs.cassandra, umkm_ids)
    assert {u: recorded.get(u, umkm_counts.NOTHING) for u in umkm_ids} == want
    expected: dict[tuple[str, str], int] = {}
    for c in want.values():
        umkm_counts.add(expected, c)
    rows = await dbs.cassandra.execute(
        "SELECT scope, name, n FROM umkm_counts WHERE scope IN ?", (["sektor", "kota"],)
    )
    have = {(r["scope"], r["name"]): r["n"] for r in rows if r["name"] in names and r["n"]}
    assert have == {k: v for k, v in expected.items() if k[0] != "status" and v}
    moved: dict[tuple[str, str], int] = {}
    for u in umkm_ids:
        umkm_counts.add(moved, start[u], -1)
        umkm_counts.add(moved, want[u])
    status = dict(baseline)
    for (scope, name), d in moved.items():
        if scope == "status":
            status[name] = status.get(name, 0) + d
    assert await status_counts(dbs) == {k: v for k, v in status.items() if v}
