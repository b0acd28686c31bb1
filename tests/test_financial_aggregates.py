"""Aggregates stay exact: random write sequences (Hypothesis), crashes between writes, rebuild."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.maintenance.rebuild import rebuild_aggregates
from db.writes import aggregates, umkm_counts
from db.writes import financial as financial_writes
from tests.fin_support import (
    actual_state,
    assert_counts_exact,
    assert_exact,
    expected_state,
    fin_umkm,
    status_counts,
    submit,
)
from tests.healing_support import reconciler_of, rounds_pass, until_closed, until_healed
from tests.support import Api, Factory, LiveServer

YEARS = [2020, 2021]
MONTHS = [(2020, 3), (2020, 4), (2020, 12), (2021, 1), (2021, 2)]
N_UMKM = 3
STATUSES = ["PENDING", "VERIFIED", "REJECTED"]

Op = tuple[Any, ...]
submits = st.tuples(
    st.just("submit"),
    st.integers(0, N_UMKM - 1),
    st.integers(0, len(MONTHS) - 1),
    st.integers(0, 1000),
)
ops = st.one_of(
    submits,
    submits,  # twice: writes of months are the most common operation
    submits,
    st.tuples(st.just("delete"), st.integers(0, N_UMKM - 1), st.integers(0, len(MONTHS) - 1)),
    st.tuples(st.just("soft_delete"), st.integers(0, N_UMKM - 1)),
    st.tuples(st.just("restore"), st.integers(0, N_UMKM - 1)),
    st.tuples(st.just("status"), st.integers(0, N_UMKM - 1), st.sampled_from(STATUSES)),
    st.tuples(st.just("sektor"), st.integers(0, N_UMKM - 1), st.integers(0, 1)),
    st.tuples(st.just("kota"), st.integers(0, N_UMKM - 1), st.integers(0, 1)),
    st.tuples(st.just("rename"), st.integers(0, N_UMKM - 1)),
)


async def change_umkm(dbs: Databases, umkm_id: uuid.UUID, changes: dict[str, Any]) -> MongoDoc:
    """What the UMKM mutations do: write the profile, then call the aggregate hook."""
    coll = dbs.mongo[umkm_profiles.COLLECTION]
    before = await coll.find_one({"_id": umkm_id})
    await coll.update_one({"_id": umkm_id}, {"$set": changes})
    after = await coll.find_one({"_id": umkm_id})
    assert after is not None
    await aggregates.on_umkm_changed(dbs, before, after)
    return after


async def apply(dbs: Databases, ids: list[uuid.UUID], names: dict[str, list[str]], op: Op) -> None:
    kind, u = op[0], ids[op[1]]
    if kind == "submit":
        doc = await umkm_profiles.find_by_id(dbs.mongo, u)
        assert doc is not None
        tahun, bulan = MONTHS[op[2]]
        await financial_writes.submit(
            dbs,
            doc,
            tahun=tahun,
            bulan=bulan,
            omzet=op[3],
            jumlah_karyawan=1,
            catatan=None,
            by=None,
        )
    elif kind == "delete":
        tahun, bulan = MONTHS[op[2]]
        await financial_writes.delete(dbs, u, tahun, bulan)
    elif kind == "soft_delete":
        await change_umkm(dbs, u, {"is_deleted": True})
    elif kind == "restore":
        await change_umkm(dbs, u, {"is_deleted": False})
    elif kind == "status":
        await change_umkm(dbs, u, {"legalitas.status_verifikasi": op[2]})
    elif kind == "sektor":
        await change_umkm(dbs, u, {"sektor": names["sektor"][op[2]]})
    elif kind == "kota":
        await change_umkm(dbs, u, {"wilayah.kota": names["kota"][op[2]]})
    elif kind == "rename":
        await change_umkm(dbs, u, {"nama_usaha": f"Usaha {uuid.uuid4().hex[:6]}"})


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(ops, min_size=4, max_size=30))
async def test_random_write_sequences_keep_every_aggregate_exact(
    dbs: Databases, factory: Factory, sequence: list[Op]
) -> None:
    tag = uuid.uuid4().hex[:8]  # cells of our own: nothing else in the session touches them
    names = {"sektor": [f"S{tag}a", f"S{tag}b"], "kota": [f"K{tag}a", f"K{tag}b"]}
    docs = [
        await fin_umkm(factory, None, sektor=names["sektor"][0], kota=names["kota"][0])
        for _ in range(N_UMKM)
    ]
    ids = [d["_id"] for d in docs]
    start = {d["_id"]: umkm_counts.counted_of(d) for d in docs}
    baseline = await status_counts(dbs)
    all_names = names["sektor"] + names["kota"]
    for op in sequence:
        await apply(dbs, ids, names, op)
        await assert_exact(dbs, ids, names["sektor"], names["kota"], YEARS)
        await assert_counts_exact(dbs, ids, all_names, baseline, start)
    # the denormalised names on every row follow the profile
    for u in ids:
        doc = await umkm_profiles.find_by_id(dbs.mongo, u)
        assert doc is not None
        for tahun in await fl.years(dbs.cassandra, u):
            for row in await fl.partition(dbs.cassandra, u, tahun):
                assert (row["nama_usaha"], row["sektor"], row["kota"]) == (
                    doc["nama_usaha"],
                    doc["sektor"],
                    doc["wilayah"]["kota"],
                )


async def test_retrying_the_same_write_applies_nothing_twice(
    dbs: Databases, factory: Factory
) -> None:
    tag = uuid.uuid4().hex[:8]
    doc = await fin_umkm(factory, None, sektor=f"S{tag}", kota=f"K{tag}")
    for _ in range(3):
        await financial_writes.submit(
            dbs, doc, tahun=2020, bulan=5, omzet=77, jumlah_karyawan=1, catatan=None, by=None
        )
        await aggregates.on_umkm_changed(dbs, {**doc, "sektor": "x"}, doc)
    await assert_exact(dbs, [doc["_id"]], [f"S{tag}"], [f"K{tag}"], YEARS)
    have = await actual_state(dbs, [doc["_id"]], [f"S{tag}"], [f"K{tag}"], YEARS)
    assert have.sector == {(f"S{tag}", 2020, 5): (77, 1)}
    assert have.pair == {(f"S{tag}", 2020, f"K{tag}", 5): (77, 1)}


def _child(dbs: Databases, argv: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    """Runs a Python module in a child process against this session's databases."""
    s = dbs.settings
    env = {
        **os.environ,
        "SIGMA_ENV": "test",
        "SIGMA_MONGO_URI": s.mongo_uri,
        "SIGMA_MONGO_DB": s.mongo_db,
        "SIGMA_CASSANDRA_KEYSPACE": s.cassandra_keyspace,
        "SIGMA_CASSANDRA_CONTACT_POINTS": ",".join(s.cassandra_contact_points),
        "SIGMA_CASSANDRA_PORT": str(s.cassandra_port),
        **extra,
    }
    root = Path(__file__).resolve().parent.parent
    return subprocess.run(
        [sys.executable, "-m", *argv],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _crash(dbs: Databases, *args: object, at: str = "after_log_row") -> int:
    """Runs one write in a child process that os._exit(1)s right after its first step."""
    argv = ["tests.fin_crash_writer", *map(str, args)]
    return _child(dbs, argv, **{financial_writes.CRASH_ENV: at}).returncode


async def test_killed_between_writes_then_rebuild_restores_exactness(
    dbs: Databases, factory: Factory
) -> None:
    tag = uuid.uuid4().hex[:8]
    sektor, kota = f"S{tag}", f"K{tag}"
    doc = await fin_umkm(factory, None, sektor=sektor, kota=kota)
    u = doc["_id"]
    cells = ([u], [sektor], [kota], YEARS)
    await financial_writes.submit(
        dbs, doc, tahun=2020, bulan=3, omzet=100, jumlah_karyawan=1, catatan=None, by=None
    )
    await financial_writes.submit(
        dbs, doc, tahun=2020, bulan=4, omzet=40, jumlah_karyawan=1, catatan=None, by=None
    )
    await assert_exact(dbs, *cells)

    # a new month: the row is written, the process dies before the counters
    assert await asyncio.to_thread(_crash, dbs, "submit", u, 2021, 1, 250) == 1
    row = await fl.get(dbs.cassandra, u, 2021, 1)
    assert row is not None and row["counted_omzet"] == 250
    have = await actual_state(dbs, *cells)
    want = await expected_state(dbs, [u], YEARS)
    assert have.sector != want.sector and (sektor, 2021, 1) not in have.sector  # under-counted
    assert have.pair != want.pair and (sektor, 2021, kota, 1) not in have.pair
    assert have.summaries[u] == {"tahun": 2020, "bulan": 4, "omzet": 40}  # MongoDB not reached
    # a re-submission and a delete, each killed the same way
    assert await asyncio.to_thread(_crash, dbs, "submit", u, 2020, 3, 400) == 1
    assert await asyncio.to_thread(_crash, dbs, "delete", u, 2020, 4) == 1
    have = await actual_state(dbs, *cells)
    assert have.sector[(sektor, 2020, 3)] == (100, 1)  # still the old value
    assert have.pair[(sektor, 2020, kota, 3)] == (100, 1)

    report = await rebuild_aggregates(dbs)
    assert report.rows_recounted >= 1 and report.sector_cells_fixed >= 1
    assert report.summaries_fixed >= 1 and report.quarter_cells_fixed >= 1
    assert report.pair_cells_fixed >= 1
    await assert_exact(dbs, *cells)
    have = await actual_state(dbs, *cells)
    assert have.sector == {
        (sektor, 2020, 3): (400, 1),
        (sektor, 2020, 4): (40, 1),  # the killed delete had not happened yet
        (sektor, 2021, 1): (250, 1),
    }
    # nothing is counted twice: the clients retry their writes, and a second rebuild has
    # nothing left to fix
    await financial_writes.submit(
        dbs, doc, tahun=2021, bulan=1, omzet=250, jumlah_karyawan=1, catatan=None, by=None
    )
    await financial_writes.submit(
        dbs, doc, tahun=2020, bulan=3, omzet=400, jumlah_karyawan=1, catatan=None, by=None
    )
    await financial_writes.delete(dbs, u, 2020, 4)
    await assert_exact(dbs, *cells)
    have = await actual_state(dbs, *cells)
    assert have.sector == {(sektor, 2020, 3): (400, 1), (sektor, 2021, 1): (250, 1)}
    assert have.region == {(kota, 2020, 3): (400, 1), (kota, 2021, 1): (250, 1)}
    assert have.pair == {(sektor, 2020, kota, 3): (400, 1), (sektor, 2021, kota, 1): (250, 1)}
    again = await rebuild_aggregates(dbs)
    assert again.fixed == 0, again


async def test_killed_between_writes_heals_without_the_rebuild(
    dbs: Databases, factory: Factory, healer: LiveServer
) -> None:
    """The same three killed writes, and no operator: the reconciler of a running API process
    finds their open intents and makes every aggregate exact again, counting nothing twice."""
    tag = uuid.uuid4().hex[:8]
    sektor, kota = f"S{tag}", f"K{tag}"
    doc = await fin_umkm(factory, None, sektor=sektor, kota=kota)
    u = doc["_id"]
    cells = ([u], [sektor], [kota], YEARS)
    for bulan, omzet in ((3, 100), (4, 40)):
        await financial_writes.submit(
            dbs, doc, tahun=2020, bulan=bulan, omzet=omzet, jumlah_karyawan=1, catatan=None, by=None
        )
    await assert_exact(dbs, *cells)
    reconciler = reconciler_of(healer)
    fault = time.monotonic()
    assert await asyncio.to_thread(_crash, dbs, "submit", u, 2021, 1, 250) == 1
    assert await asyncio.to_thread(_crash, dbs, "submit", u, 2020, 3, 400) == 1
    assert await asyncio.to_thread(_crash, dbs, "delete", u, 2020, 4) == 1
    took = await until_healed(lambda: assert_exact(dbs, *cells), fault)
    print(f"\nhealed {took:.1f} s after three API kills between the writes")
    have = await actual_state(dbs, *cells)
    assert have.sector == {
        (sektor, 2020, 3): (400, 1),
        (sektor, 2020, 4): (40, 1),  # the killed delete had withdrawn nothing yet
        (sektor, 2021, 1): (250, 1),
    }
    assert have.summaries[u] == {"tahun": 2021, "bulan": 1, "omzet": 250}
    assert reconciler.rounds > 0
    # The repaired intents are closed after a round that found nothing more to fix; further
    # rounds and the clients' retries count nothing twice.
    await until_closed(healer, dbs, u)
    await financial_writes.submit(
        dbs, doc, tahun=2021, bulan=1, omzet=250, jumlah_karyawan=1, catatan=None, by=None
    )
    await financial_writes.delete(dbs, u, 2020, 4)
    await rounds_pass(healer, 3)
    await assert_exact(dbs, *cells)
    have = await actual_state(dbs, *cells)
    assert have.sector == {(sektor, 2020, 3): (400, 1), (sektor, 2021, 1): (250, 1)}
    assert have.region == {(kota, 2020, 3): (400, 1), (kota, 2021, 1): (250, 1)}
    assert have.pair == {(sektor, 2020, kota, 3): (400, 1), (sektor, 2021, kota, 1): (250, 1)}


async def test_killed_between_profile_count_writes_then_rebuild_restores_exactness(
    dbs: Databases, factory: Factory
) -> None:
    """The profile counts' half of the hook, killed between recording the UMKM's contribution
    and the counters: one change missing (never applied twice), repaired by the rebuild."""
    tag = uuid.uuid4().hex[:8]
    sektor, kota = f"S{tag}", f"K{tag}"
    doc = await fin_umkm(factory, None, sektor=sektor, kota=kota)
    u = doc["_id"]
    start, baseline = {u: umkm_counts.counted_of(doc)}, await status_counts(dbs)
    await assert_counts_exact(dbs, [u], [sektor, kota], baseline, start)
    coll = dbs.mongo[umkm_profiles.COLLECTION]
    await coll.update_one({"_id": u}, {"$set": {"is_deleted": True}})  # the profile write
    assert await asyncio.to_thread(_crash, dbs, "count", u, at="after_counted_row") == 1
    recorded = await umkm_counts.counted_rows(dbs.cassandra, [u])
    assert recorded[u] == umkm_counts.NOTHING  # step (2) ran
    stale = await umkm_counts.read(dbs.cassandra, ("sektor", "kota"))
    assert stale["sektor"].get(sektor) == 1 and stale["kota"].get(kota) == 1  # (3) did not
    assert not await umkm_counts.sync(dbs, u)  # the retry: nothing applied twice
    assert (await umkm_counts.read(dbs.cassandra, ("sektor",)))["sektor"].get(sektor) == 1

    report = await rebuild_aggregates(dbs)
    assert report.count_cells_fixed >= 3  # VERIFIED, the sektor and the kota
    after = await umkm_counts.read(dbs.cassandra, umkm_counts.SCOPES)
    assert sektor not in after["sektor"] and kota not in after["kota"]
    expected: dict[tuple[str, str], int] = {}
    async for d in coll.find({}):
        umkm_counts.add(expected, umkm_counts.counted_of(d))
    assert after == {
        scope: {n: v for (s, n), v in expected.items() if s == scope and v}
        for scope in umkm_counts.SCOPES
    }
    assert (await rebuild_aggregates(dbs)).fixed == 0


UMKM_OP = """
mutation($id: ID!) {
  deleteUmkm(id: $id) { umkm { id } userErrors { code } }
}
"""
RESTORE = "mutation($id: ID!) { restoreUmkm(id: $id) { umkm { id } userErrors { code } } }"
APPROVE = "mutation($id: ID!) { approveUmkm(id: $id) { umkm { id } userErrors { code } } }"
UPDATE = """
mutation($id: ID!, $input: UpdateUMKMInput!) {
  updateUmkm(id: $id, input: $input) {
    umkm { id sektor legalitas { statusVerifikasi } } userErrors { code }
  }
}
"""


async def test_umkm_mutations_move_months_through_the_hook(
    api: Api, dbs: Databases, factory: Factory
) -> None:
    owner = await factory.account()
    staff = await factory.account("PEJABAT")
    admin = await factory.account("ADMIN")
    doc = await fin_umkm(factory, owner, sektor="Kuliner", kota="Malang")
    u = doc["_id"]
    tahun = 2007  # a year no other test writes: the cells below are this test's alone
    cells = ([u], ["Kuliner", "Jasa"], ["Malang"], [tahun])
    await submit(api, owner.token, u, tahun, 1, 100)
    await submit(api, owner.token, u, tahun, 2, 200)
    await assert_exact(dbs, *cells)

    async def sector() -> dict[tuple[str, int, int], tuple[int, int]]:
        return (await actual_state(dbs, *cells)).sector

    assert await sector() == {("Kuliner", tahun, 1): (100, 1), ("Kuliner", tahun, 2): (200, 1)}
    gone = await api.as_(owner.token)(UMKM_OP, {"id": str(u)})
    assert gone.ok()["deleteUmkm"]["userErrors"] == []
    await assert_exact(dbs, *cells)
    assert await sector() == {}
    back = await api.as_(admin.token)(RESTORE, {"id": str(u)})
    assert back.ok()["restoreUmkm"]["userErrors"] == []
    await assert_exact(dbs, *cells)
    assert len(await sector()) == 2
    moved = await api.as_(owner.token)(UPDATE, {"id": str(u), "input": {"sektor": "Jasa"}})
    assert moved.ok()["updateUmkm"]["userErrors"] == []
    assert moved.data["updateUmkm"]["umkm"]["legalitas"]["statusVerifikasi"] == "PENDING"
    await assert_exact(dbs, *cells)
    assert await sector() == {}  # PENDING: out of the aggregates
    approved = await api.as_(staff.token)(APPROVE, {"id": str(u)})
    assert approved.ok()["approveUmkm"]["userErrors"] == []
    await assert_exact(dbs, *cells)
    assert await sector() == {("Jasa", tahun, 1): (100, 1), ("Jasa", tahun, 2): (200, 1)}
    row = await fl.get(dbs.cassandra, u, tahun, 1)
    assert row is not None and row["sektor"] == "Jasa"


async def test_rebuild_command_reports(dbs: Databases, factory: Factory) -> None:
    doc = await fin_umkm(factory, None)
    await financial_writes.submit(
        dbs, doc, tahun=2008, bulan=1, omzet=5, jumlah_karyawan=1, catatan=None, by=None
    )
    await dbs.cassandra.execute(  # drift a counter behind the application's back
        aggregates.SECTOR_ADD, (1, 0, doc["sektor"], 2008, 1)
    )
    await dbs.cassandra.execute(
        aggregates.PAIR_ADD, (3, 1, doc["sektor"], 2008, doc["wilayah"]["kota"], 1)
    )
    done = await asyncio.to_thread(
        _child, dbs, ["sigma_graphql.commands.cli", "rebuild-aggregates"]
    )
    assert done.returncode == 0, done.stderr
    fixed = re.search(r"sector_cells_fixed=(\d+)", done.stdout)
    assert "aggregates rebuilt" in done.stdout and fixed and int(fixed.group(1)) >= 1
    pair_fixed = re.search(r"pair_cells_fixed=(\d+)", done.stdout)
    assert pair_fixed and int(pair_fixed.group(1)) >= 1
    rows = await dbs.cassandra.execute(
        "SELECT total_omzet FROM dashboard_sector_stats "
        "WHERE sektor = ? AND tahun = ? AND bulan = ?",
        (doc["sektor"], 2008, 1),
    )
    assert rows[0]["total_omzet"] == 5
    pair = await dbs.cassandra.execute(
        "SELECT total_omzet, jumlah_umkm FROM dashboard_sector_region_stats "
        "WHERE sektor = ? AND tahun = ? AND kota = ? AND bulan = ?",
        (doc["sektor"], 2008, doc["wilayah"]["kota"], 1),
    )
    assert (pair[0]["total_omzet"], pair[0]["jumlah_umkm"]) == (5, 1)


async def test_concurrent_writers_of_one_month_never_double_count(
    dbs: Databases, factory: Factory
) -> None:
    tag = uuid.uuid4().hex[:8]
    doc = await fin_umkm(factory, None, sektor=f"S{tag}", kota=f"K{tag}")
    cells = ([doc["_id"]], [f"S{tag}"], [f"K{tag}"], YEARS)

    async def write(omzet: int, bulan: int) -> None:
        await financial_writes.submit(
            dbs, doc, tahun=2021, bulan=bulan, omzet=omzet, jumlah_karyawan=1, catatan=None, by=None
        )

    # the same new month from many writers at once, then re-submissions racing deletes
    await asyncio.gather(*(write(10 * i, 6) for i in range(1, 9)))
    await assert_exact(dbs, *cells)
    await asyncio.gather(
        *(write(7 * i, 6 + i % 2) for i in range(1, 9)),
        *(financial_writes.delete(dbs, doc["_id"], 2021, 7) for _ in range(3)),
    )
    await assert_exact(dbs, *cells)
