"""Connections do only the work the selection asks for (perf2): totalCount's count query only
when totalCount is selected, per-edge cursors only when edges are; pageInfo stays correct."""

from __future__ import annotations

import uuid

from db.handles import Databases
from tests.support import Api
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
