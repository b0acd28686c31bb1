"""Connections do only the work the selection asks for (perf2): totalCount's count query only
when totalCount is selected, per-edge cursors only when edges are; pageInfo stays correct."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from db.drivers.handles import Databases
from db.maintenance.seed import INSERT_LOG, INSERT_YEAR
from tests.support import Api, Factory
from tests.umkm_support import insert_umkm

WITH_COUNT = """query($f: UMKMFilter) { umkms(filter: $f, first: 2) {
  totalCount nodes { id } pageInfo { endCursor } } }"""
NODES_ONLY = """query($f: UMKMFilter) { umkms(filter: $f, first: 2) {
  nodes { id } pageInfo { startCursor endCursor hasNextPage } } }"""
EDGES = """query($f: UMKMFilter, $a: String) { umkms(filter: $f, first: 2, after: $a) {
  ...E pageInfo { startCursor endCursor } } }
fragment E on UMKMConnection { edges { cursor node { id } } }"""


async def test_total_count_and_cursors_only_when_selected(api: Api, dbs: Databases) -> None:
    tag = uuid.uuid4().hex[:8]
    for i in range(3):
        await insert_umkm(dbs, nama=f"Usaha {tag} {i}")
    f = {"f": {"search": tag}}
    counted = await api.as_(None)(WITH_COUNT, f)
    assert counted.ok()["umkms"]["totalCount"] == 3
    plain = await api.as_(None)(NODES_ONLY, f)
    page = plain.ok()["umkms"]
    assert plain.round_trips == counted.round_trips - 1  # no count query
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["endCursor"] == counted.ok()["umkms"]["pageInfo"]["endCursor"]
    edged = (await api.as_(None)(EDGES, f)).ok()["umkms"]
    assert [e["node"]["id"] for e in edged["edges"]] == [n["id"] for n in page["nodes"]]
    assert edged["pageInfo"]["startCursor"] == edged["edges"][0]["cursor"]
    assert (
        edged["pageInfo"]["endCursor"]
        == edged["edges"][-1]["cursor"]
        == (page["pageInfo"]["endCursor"])
    )
    rest = (await api.as_(None)(EDGES, {**f, "a": page["pageInfo"]["endCursor"]})).ok()["umkms"]
    assert len(rest["edges"]) == 1


PAGE = """query($f: UMKMFilter) { umkms(filter: $f, first: 5) { nodes {
  id owner { nama }
  financialLogs(first: 2) { edges { cursor node { tahun bulan omzet } }
                            pageInfo { startCursor endCursor hasNextPage } } } } }"""
# Two financialLogs with different arguments: not prefetched, each UMKM loads its own.
ALIASED = """query($f: UMKMFilter) { umkms(filter: $f, first: 5) { nodes {
  id owner { nama }
  financialLogs(first: 2) { edges { cursor node { tahun bulan omzet } }
                            pageInfo { startCursor endCursor hasNextPage } }
  one: financialLogs(first: 1) { nodes { bulan } } } } }"""


async def test_prefetched_owner_and_logs_equal_per_item_loads(
    api: Api, dbs: Databases, factory: Factory
) -> None:
    tag = uuid.uuid4().hex[:8]
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT")
    docs = [await insert_umkm(dbs, owner_id=owner.id, nama=f"Usaha {tag} {i}") for i in range(2)]
    for d in docs:
        for bulan in (1, 2, 3):
            row = (
                d["_id"],
                2024,
                bulan,
                1000 * bulan,
                2,
                None,
                datetime(2024, bulan, 28, tzinfo=UTC),
            )
            await dbs.cassandra.execute(
                INSERT_LOG, (*row, owner.id, d["nama_usaha"], "Kuliner", "Malang")
            )
        await dbs.cassandra.execute(INSERT_YEAR, (d["_id"], 2024))
    f = {"f": {"search": tag}}
    for token in (staff.token, owner.token):
        fast = (await api.as_(token)(PAGE, f)).ok()["umkms"]["nodes"]
        slow = (await api.as_(token)(ALIASED, f)).ok()["umkms"]["nodes"]
        assert len(fast) == 2
        for a, b in zip(fast, slow, strict=True):
            assert b.pop("one")["nodes"] == [{"bulan": 3}]
            assert a == b
            assert a["owner"]["nama"] == owner.doc["nama"]
            logs = a["financialLogs"]
            assert [e["node"]["bulan"] for e in logs["edges"]] == [3, 2]
            assert logs["pageInfo"]["endCursor"] == logs["edges"][-1]["cursor"]
            assert logs["pageInfo"]["hasNextPage"] is True
    public = (await api.as_(None)(PAGE, f)).ok()["umkms"]["nodes"]
    assert [(n["owner"], n["financialLogs"]["edges"]) for n in public] == [(None, [])] * 2
