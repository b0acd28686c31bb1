"""The aggregate hook of racing UMKM writes: whatever order the hooks run in, the months end up
counted (or not) under the latest profile, exactly as a from-scratch recomputation says."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import aggregates, umkm_counts
from db.writes import financial as financial_writes
from tests.fin_support import assert_counts_exact, assert_exact, fin_umkm, status_counts, submit
from tests.support import Api, Factory

YEARS = [2020, 2021]
MONTHS = [(2020, 11, 70), (2020, 12, 80), (2021, 1, 90)]


async def assert_rows_follow(dbs: Databases, umkm_id: uuid.UUID, years: list[int]) -> None:
    """Every log row's counted_* and denormalised names match the profile as stored now."""
    doc = await umkm_profiles.find_by_id(dbs.mongo, umkm_id)
    assert doc is not None
    rows = [r for y in years for r in await fl.partition(dbs.cassandra, umkm_id, y)]
    assert rows
    for row in rows:
        assert aggregates.counted(row) == aggregates.desired(doc, row["omzet"]), row
        assert (row["nama_usaha"], row["sektor"], row["kota"]) == (
            doc["nama_usaha"],
            doc["sektor"],
            doc["wilayah"]["kota"],
        )


async def cas(dbs: Databases, doc: MongoDoc, changes: dict[str, Any]) -> MongoDoc:
    """The profile write of the UMKM mutations (compare-and-set, version bumped), no hook."""
    after = await umkm_profiles.compare_and_set(dbs.mongo, doc, changes)
    assert after is not None
    return after


# (status at the start, first change, second change); {s1}/{s2}/{k2}: this test's own names
SCENARIOS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "approve_then_sektor": (
        "PENDING",
        {"legalitas.status_verifikasi": "VERIFIED"},
        {"sektor": "{s2}"},
    ),
    "sektor_then_sektor": ("VERIFIED", {"sektor": "{s2}"}, {"sektor": "{s3}"}),
    "delete_then_restore": ("VERIFIED", {"is_deleted": True}, {"is_deleted": False}),
    "restore_then_delete": ("VERIFIED", {"is_deleted": False}, {"is_deleted": True}),
    "kota_then_delete": ("VERIFIED", {"wilayah.kota": "{k2}"}, {"is_deleted": True}),
    "sektor_then_unverify": (
        "VERIFIED",
        {"sektor": "{s2}"},
        {"legalitas.status_verifikasi": "PENDING"},
    ),
    "rename_then_kota": ("VERIFIED", {"nama_usaha": "Usaha {s2}"}, {"wilayah.kota": "{k2}"}),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_hooks_called_out_of_order_leave_the_latest_profile_counted(
    dbs: Databases, factory: Factory, scenario: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    names = {
        "s1": f"S{tag}a",
        "s2": f"S{tag}b",
        "s3": f"S{tag}c",
        "k1": f"K{tag}a",
        "k2": f"K{tag}b",
    }
    sektors, kotas = [names["s1"], names["s2"], names["s3"]], [names["k1"], names["k2"]]
    status, first, second = SCENARIOS[scenario]
    fill = {k: v.format(**names) if isinstance(v, str) else v for k, v in first.items()}
    fill2 = {k: v.format(**names) if isinstance(v, str) else v for k, v in second.items()}
    p0 = await fin_umkm(factory, None, status=status, sektor=names["s1"], kota=names["k1"])
    u = p0["_id"]
    if scenario == "restore_then_delete":  # starts deleted, with its months out
        live, p0 = p0, await cas(dbs, p0, {"is_deleted": True})
        await aggregates.on_umkm_changed(dbs, live, p0)
    start, baseline = {u: umkm_counts.counted_of(p0)}, await status_counts(dbs)
    for tahun, bulan, omzet in MONTHS:
        await financial_writes.submit(
            dbs, p0, tahun=tahun, bulan=bulan, omzet=omzet, jumlah_karyawan=1, catatan=None, by=None
        )
    await assert_exact(dbs, [u], sektors, kotas, YEARS)

    p1 = await cas(dbs, p0, fill)  # two writes land in MongoDB in this order ...
    p2 = await cas(dbs, p1, fill2)
    await aggregates.on_umkm_changed(dbs, p1, p2)  # ... and their hooks run the other way
    await aggregates.on_umkm_changed(dbs, p0, p1)

    await assert_exact(dbs, [u], sektors, kotas, YEARS)
    await assert_rows_follow(dbs, u, YEARS)
    await assert_counts_exact(dbs, [u], sektors + kotas, baseline, start)


UPDATE = """
mutation($id: ID!, $input: UpdateUMKMInput!) {
  updateUmkm(id: $id, input: $input) { umkm { id } userErrors { code } }
}
"""
APPROVE = "mutation($id: ID!) { approveUmkm(id: $id) { umkm { id } userErrors { code } } }"
DELETE = "mutation($id: ID!) { deleteUmkm(id: $id) { umkm { id } userErrors { code } } }"
RESTORE = "mutation($id: ID!) { restoreUmkm(id: $id) { umkm { id } userErrors { code } } }"


async def test_racing_umkm_mutations_leave_the_months_matching_the_latest_profile(
    api: Api, dbs: Databases, factory: Factory
) -> None:
    """The real mutations, concurrently: an ADMIN moving the sector while a PEJABAT approves,
    and while someone deletes or restores. Their hooks may interleave in any order; after each
    round the aggregates match the recomputation. (Sector names must be real ones, so the
    months live in a year no other test writes.)"""
    owner = await factory.account()
    staff = await factory.account("PEJABAT")
    admin = await factory.account("ADMIN")
    doc = await fin_umkm(factory, owner, sektor="Kuliner", kota="Malang")
    u, uid = doc["_id"], str(doc["_id"])
    tahun = 2003
    sectors = ["Kuliner", "Jasa", "Fashion"]
    cells = ([u], sectors, ["Malang"], [tahun])
    for bulan in (1, 2, 3, 4):
        await submit(api, owner.token, u, tahun, bulan, 100 * bulan)
    await assert_exact(dbs, *cells)

    def sektor(i: int) -> dict[str, Any]:
        return {"id": uid, "input": {"sektor": sectors[i % len(sectors)]}}

    for i in range(4):
        # the owner's identity edit sends the UMKM back to PENDING; then approve races a move
        pending = await api.as_(owner.token)(UPDATE, sektor(i))
        assert pending.ok()["updateUmkm"]["userErrors"] == []
        await asyncio.gather(
            api.as_(admin.token)(UPDATE, sektor(i + 1)),
            api.as_(staff.token)(APPROVE, {"id": uid}),
        )
        await assert_exact(dbs, *cells)
        await assert_rows_follow(dbs, u, [tahun])
        # a move racing a delete, then a move racing the restore
        await asyncio.gather(
            api.as_(admin.token)(UPDATE, sektor(i + 2)),
            api.as_(admin.token)(DELETE, {"id": uid}),
        )
        await assert_exact(dbs, *cells)
        await assert_rows_follow(dbs, u, [tahun])
        await asyncio.gather(
            api.as_(admin.token)(RESTORE, {"id": uid}),
            api.as_(admin.token)(UPDATE, sektor(i)),  # not found while deleted: fine either way
        )
        await assert_exact(dbs, *cells)
        await assert_rows_follow(dbs, u, [tahun])
        current = await umkm_profiles.find_by_id(dbs.mongo, u)
        assert current is not None
        if current.get("is_deleted"):
            restored = await api.as_(admin.token)(RESTORE, {"id": uid})
            assert restored.ok()["restoreUmkm"]["userErrors"] == []
            await assert_exact(dbs, *cells)


@pytest.mark.parametrize(
    "change", [{"sektor": "{s2}"}, {"is_deleted": True}, {"wilayah.kota": "{k2}"}]
)
async def test_a_month_written_from_a_stale_profile_follows_the_profile(
    dbs: Databases, factory: Factory, change: dict[str, Any]
) -> None:
    """A submit read the profile, a profile write and its hook ran (listing the months before
    the new one existed), then the submit wrote its month from what it had read."""
    tag = uuid.uuid4().hex[:8]
    names = {"s1": f"S{tag}a", "s2": f"S{tag}b", "k1": f"K{tag}a", "k2": f"K{tag}b"}
    stale = await fin_umkm(factory, None, sektor=names["s1"], kota=names["k1"])
    u = stale["_id"]
    await financial_writes.submit(
        dbs, stale, tahun=2020, bulan=5, omzet=10, jumlah_karyawan=1, catatan=None, by=None
    )
    filled = {k: v.format(**names) if isinstance(v, str) else v for k, v in change.items()}
    await aggregates.on_umkm_changed(dbs, stale, await cas(dbs, stale, filled))
    await financial_writes.submit(
        dbs, stale, tahun=2020, bulan=6, omzet=20, jumlah_karyawan=1, catatan=None, by=None
    )
    await assert_exact(dbs, [u], [names["s1"], names["s2"]], [names["k1"], names["k2"]], YEARS)
    await assert_rows_follow(dbs, u, YEARS)


async def test_the_summary_does_not_depend_on_the_hosts_clocks(
    dbs: Databases, factory: Factory
) -> None:
    """A host whose clock ran an hour ahead wrote the summary last (the old `summary_at`
    ordering then refused every correct summary for an hour); racing writers still converge."""
    tag = uuid.uuid4().hex[:8]
    doc = await fin_umkm(factory, None, sektor=f"S{tag}", kota=f"K{tag}")
    u = doc["_id"]
    await financial_writes.submit(
        dbs, doc, tahun=2020, bulan=1, omzet=1, jumlah_karyawan=1, catatan=None, by=None
    )
    ahead = datetime.now(UTC) + timedelta(hours=1)
    await dbs.mongo[umkm_profiles.COLLECTION].update_one(
        {"_id": u}, {"$set": {"summary_at": ahead.replace(microsecond=0)}}
    )
    await financial_writes.submit(
        dbs, doc, tahun=2020, bulan=2, omzet=2, jumlah_karyawan=1, catatan=None, by=None
    )
    stored = await umkm_profiles.find_by_id(dbs.mongo, u)
    assert stored is not None
    assert stored["summary_terakhir"] == {"tahun": 2020, "bulan": 2, "omzet": 2}

    async def write(bulan: int, omzet: int) -> None:
        await financial_writes.submit(
            dbs, doc, tahun=2021, bulan=bulan, omzet=omzet, jumlah_karyawan=1, catatan=None, by=None
        )

    for _ in range(3):  # new latest months racing their own deletion and re-submissions
        await asyncio.gather(
            *(write(b, 10 * b + i) for b in (3, 4, 5) for i in range(3)),
            *(financial_writes.delete(dbs, u, 2021, b) for b in (4, 5)),
            aggregates.refresh_summary(dbs, u),
        )
        await assert_exact(dbs, [u], [doc["sektor"]], [doc["wilayah"]["kota"]], YEARS)
