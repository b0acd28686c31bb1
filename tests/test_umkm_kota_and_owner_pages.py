"""The kota filter as an indexed equality on kota_lower (with its migrate backfill), and
User.umkms fetching a bounded page per owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from db import umkm_profiles
from db.drivers.handles import Databases
from db.maintenance.migrations import migrate_mongo
from tests.support import Api, Factory
from tests.umkm_support import CREATE, LIST, UPDATE, insert_umkm, valid_input


async def _found(api: Api, token: str | None, **filter: Any) -> set[str]:
    page = (await api.as_(token)(LIST, {"filter": filter, "first": 100})).ok()["umkms"]
    return {e["node"]["id"] for e in page["edges"]}


async def test_kota_filter_is_case_insensitive_exact(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    tag = uuid.uuid4().hex[:6]
    kota = f"Kota Batu {tag}"
    exact = await insert_umkm(dbs, kota=kota)
    dotted = await insert_umkm(dbs, kota=f"A.B {tag}")
    longer = await insert_umkm(dbs, kota=f"{kota} Selatan")
    assert exact["kota_lower"] == kota.lower()
    for asked in (kota, kota.upper(), f"  {kota.lower()} "):
        assert await _found(api, None, kota=asked) == {str(exact["_id"])}
    assert await _found(api, None, kota=f"Batu {tag}") == set()  # whole string only
    assert await _found(api, None, kota=f"AxB {tag}") == set()  # no regex
    assert await _found(api, None, kota=f"a.b {tag.upper()}") == {str(dotted["_id"])}
    assert str(longer["_id"]) not in await _found(api, None, kota=kota)

    # create and update keep it in step
    owner = await factory.account("UMKM_OWNER")
    wil = {"kota": f"Malang {tag}", "provinsi": "Jawa Timur"}
    made = (await api.as_(owner.token)(CREATE, {"input": valid_input(wilayah=wil)})).ok()
    uid = made["createUmkm"]["umkm"]["id"]
    assert uid in await _found(api, owner.token, kota=f"MALANG {tag}")
    patch = {"wilayah": {"kota": f"Kota Kediri {tag}"}}
    updated = (await api.as_(owner.token)(UPDATE, {"id": uid, "input": patch})).ok()
    assert updated["updateUmkm"]["userErrors"] == []
    assert uid not in await _found(api, owner.token, kota=f"malang {tag}")
    assert uid in await _found(api, owner.token, kota=f"kota kediri {tag}")
    doc = await umkm_profiles.find_by_id(dbs.mongo, uuid.UUID(uid))
    assert doc is not None and doc["kota_lower"] == f"kota kediri {tag}"
    # an update not touching kota keeps it
    rename = {"namaUsaha": f"Nama Baru {tag}"}
    assert (await api.as_(owner.token)(UPDATE, {"id": uid, "input": rename})).ok()
    doc = await umkm_profiles.find_by_id(dbs.mongo, uuid.UUID(uid))
    assert doc is not None and doc["kota_lower"] == f"kota kediri {tag}"

    indexes = await dbs.mongo[umkm_profiles.COLLECTION].index_information()
    assert indexes["kota_lower"]["key"] == [("kota_lower", 1), ("created_at", -1), ("_id", -1)]


async def test_migrate_backfills_kota_lower(api: Api, dbs: Databases) -> None:
    tag = uuid.uuid4().hex[:6]
    old = [await insert_umkm(dbs, kota=f"Kota Lama {tag} {i}") for i in range(7)]
    collection = dbs.mongo[umkm_profiles.COLLECTION]
    ids = [d["_id"] for d in old]
    # written before the field existed
    await collection.update_many({"_id": {"$in": ids}}, {"$unset": {"kota_lower": ""}})
    # invisible to the filter until backfilled (the filter is the equality, not a regex)
    assert await umkm_profiles.count(dbs.mongo, {"kota_lower": f"kota lama {tag} 0"}) == 0
    assert await _found(api, None, kota=f"Kota Lama {tag} 0") == set()

    assert await umkm_profiles.backfill_kota_lower(dbs.mongo, batch=3) >= 7
    docs = {d["_id"]: d async for d in collection.find({"_id": {"$in": ids}})}
    assert {d["kota_lower"] for d in docs.values()} == {f"kota lama {tag} {i}" for i in range(7)}
    # the derived field does not count as a write (no compare-and-set invalidated)
    assert all(docs[d["_id"]]["version"] == d["version"] for d in old)
    assert await _found(api, None, kota=f"KOTA LAMA {tag} 0") == {str(ids[0])}
    assert await umkm_profiles.backfill_kota_lower(dbs.mongo, batch=3) == 0  # idempotent

    # and `sigma-graphql migrate` runs it
    await collection.update_many({"_id": {"$in": ids[:2]}}, {"$unset": {"kota_lower": ""}})
    await migrate_mongo(dbs.mongo_client, dbs.settings)
    assert await collection.count_documents({"_id": {"$in": ids}, "kota_lower": None}) == 0


OWNER_PAGE = """query($id: ID!, $first: Int, $after: String) { umkm(id: $id) { owner {
  umkms(first: $first, after: $after) { totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id } } } } }"""


async def test_user_umkms_pages_through_every_umkm(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    same = datetime(2025, 3, 1, tzinfo=UTC)
    # ties on created_at too: the keyset must order by _id inside them
    docs = [
        await insert_umkm(dbs, owner_id=owner.id, created_at=same + timedelta(seconds=i // 3))
        for i in range(8)
    ]
    await insert_umkm(dbs, owner_id=owner.id, deleted=True)
    expected = [
        str(d["_id"]) for d in sorted(docs, key=lambda d: (d["created_at"], d["_id"].bytes))
    ][::-1]
    seen: list[str] = []
    after = None
    while True:
        page = (
            await api.as_(staff.token)(OWNER_PAGE, {"id": expected[0], "first": 3, "after": after})
        ).ok()["umkm"]["owner"]["umkms"]
        assert page["totalCount"] == 8
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert len(page["nodes"]) <= 3
        seen.extend(n["id"] for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


async def test_owner_pages_fetch_at_most_the_limit(factory: Factory, dbs: Databases) -> None:
    a, b, c = [await factory.account("UMKM_OWNER") for _ in range(3)]
    base = datetime(2025, 4, 1, tzinfo=UTC)
    mine: dict[uuid.UUID, list[dict[str, Any]]] = {a.id: [], b.id: [], c.id: []}
    for i, who in enumerate([a] * 9 + [b] * 2):
        doc = await insert_umkm(dbs, owner_id=who.id, created_at=base + timedelta(minutes=i))
        mine[who.id].insert(0, doc)  # newest first
    proj = umkm_profiles.FULL_PROJECTION
    found = await umkm_profiles.first_by_owners(dbs.mongo, [a.id, b.id, c.id], 4, None, proj)
    assert set(found) == {a.id, b.id}  # c has none
    assert found[a.id][0] == 9 and found[b.id][0] == 2
    assert [d["_id"] for d in found[a.id][1]] == [d["_id"] for d in mine[a.id][:4]]
    assert [d["_id"] for d in found[b.id][1]] == [d["_id"] for d in mine[b.id]]
    assert "pemilik" in found[a.id][1][0] and "version" not in found[a.id][1][0]
    # keyset: strictly after the 4th of a
    last = mine[a.id][3]
    key = (last["created_at"], last["_id"])
    later = await umkm_profiles.first_by_owners(dbs.mongo, [a.id], 4, key, proj)
    assert later[a.id][0] == 9
    assert [d["_id"] for d in later[a.id][1]] == [d["_id"] for d in mine[a.id][4:8]]
