"""UMKM input validation, partial updates, and field visibility per audience."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from db import umkm_profiles
from db.drivers.handles import Databases
from tests.support import Account, Api, Factory
from tests.umkm_support import CREATE, GET, LIST, UPDATE, insert_umkm, valid_input

ALL_SECTORS = "Kuliner, Fashion, Kriya, Jasa, Pertanian, Perdagangan, Manufaktur, Lainnya"


def _errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def _with(path: list[str], value: Any) -> dict[str, Any]:
    data = valid_input()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


CASES: list[tuple[list[str], Any, str]] = [
    (["namaUsaha"], "ab", "TOO_SHORT"),
    (["namaUsaha"], "x" * 101, "TOO_LONG"),
    (["namaUsaha"], "   ", "REQUIRED"),
    (["sektor"], "Otomotif", "INVALID"),
    (["wilayah", "kota"], " ", "REQUIRED"),
    (["wilayah", "provinsi"], "", "REQUIRED"),
    (["wilayah", "provinsi"], "Jawa Tenggara", "INVALID"),
    (["lokasi", "latitude"], 7.5, "OUT_OF_RANGE"),
    (["lokasi", "latitude"], -11.5, "OUT_OF_RANGE"),
    (["lokasi", "longitude"], 94.0, "OUT_OF_RANGE"),
    (["lokasi", "longitude"], 141.5, "OUT_OF_RANGE"),
    (["pemilik", "nik"], "123456789012345", "INVALID"),
    (["pemilik", "nik"], "12345678901234ab", "INVALID"),
    (["pemilik", "telepon"], "021555123", "INVALID"),
    (["pemilik", "telepon"], "0812345", "INVALID"),
    (["pemilik", "telepon"], "+62812345678901234", "INVALID"),
    (["pemilik", "telepon"], "", "REQUIRED"),
    (["pemilik", "nama"], "", "REQUIRED"),
    (["pemilik", "email"], "bukan-email", "INVALID"),
    (["legalitas", "dokumenUrl"], "http://dokumen.contoh.id/a.pdf", "INVALID"),
    (["legalitas", "dokumenUrl"], "javascript:alert(1)", "INVALID"),
    (["legalitas", "dokumenUrl"], "https://", "INVALID"),
]


@pytest.mark.parametrize(("path", "value", "code"), CASES, ids=lambda v: str(v)[:20])
async def test_each_create_rule(
    api: Api, factory: Factory, dbs: Databases, path: list[str], value: Any, code: str
) -> None:
    owner = await factory.account("UMKM_OWNER")
    data = _with(path, value)
    payload = (await api.as_(owner.token)(CREATE, {"input": data})).ok()["createUmkm"]
    assert payload["umkm"] is None
    assert _errors(payload) == [(["input", *path], code)]
    assert payload["userErrors"][0]["message"]
    # nothing written
    assert await dbs.mongo[umkm_profiles.COLLECTION].count_documents({"owner_id": owner.id}) == 0
    # ...and the same rule applies to updates
    if path[0] in ("namaUsaha", "sektor", "lokasi"):
        patch: dict[str, Any] = {path[0]: value} if len(path) == 1 else {}
        if path[0] == "lokasi":
            patch = {"lokasi": {"latitude": -7.9, "longitude": 112.6, path[1]: value}}
        doc = await insert_umkm(dbs, owner_id=owner.id)
        upd = (await api.as_(owner.token)(UPDATE, {"id": str(doc["_id"]), "input": patch})).ok()
        assert _errors(upd["updateUmkm"]) == [(["input", *path], code)]
        assert await umkm_profiles.find_by_id(dbs.mongo, doc["_id"]) == doc


async def test_all_violations_reported_together_in_either_language(
    api: Api, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    data = valid_input(namaUsaha="x", sektor="Otomotif")
    data["wilayah"]["provinsi"] = "Atlantis"
    data["pemilik"]["nik"] = "12"
    resp = (await api.as_(owner.token)(CREATE, {"input": data})).ok()["createUmkm"]
    assert _errors(resp) == [
        (["input", "namaUsaha"], "TOO_SHORT"),
        (["input", "sektor"], "INVALID"),
        (["input", "wilayah", "provinsi"], "INVALID"),
        (["input", "pemilik", "nik"], "INVALID"),
    ]
    sektor_msg = resp["userErrors"][1]["message"]
    assert ALL_SECTORS in sektor_msg and "Sektor" in sektor_msg
    en = (
        await api.as_(owner.token)(CREATE, {"input": data}, headers={"Accept-Language": "en"})
    ).ok()["createUmkm"]
    assert en["userErrors"][1]["message"].startswith("Unknown sector")


async def test_canonical_values_and_optional_parts(api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    data = valid_input(sektor="  PERDAGANGAN ", lokasi=None, legalitas=None)
    data["wilayah"] = {"kota": " Surabaya ", "provinsi": "JAWA TIMUR"}
    data["pemilik"] = {"nama": "Pak Budi", "telepon": "+6281234567890"}
    made = (await api.as_(owner.token)(CREATE, {"input": data})).ok()["createUmkm"]
    assert made["userErrors"] == []
    umkm = made["umkm"]
    assert umkm["sektor"] == "Perdagangan"
    assert umkm["wilayah"] == {"kota": "Surabaya", "provinsi": "Jawa Timur", "alamatLengkap": None}
    assert umkm["lokasi"] is None
    assert umkm["pemilik"] == {
        "nama": "Pak Budi",
        "nik": None,
        "telepon": "+6281234567890",
        "email": None,
    }
    assert umkm["legalitas"]["nib"] is None and umkm["legalitas"]["dokumenUrl"] is None


async def test_partial_update_merges_nested_fields(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT")
    doc = await insert_umkm(
        dbs, owner_id=owner.id, verified_by=staff.id, latitude=-7.9, longitude=112.6
    )
    uid = str(doc["_id"])
    as_owner = api.as_(owner.token)
    resp = (
        await as_owner(
            UPDATE,
            {
                "id": uid,
                "input": {
                    "legalitas": {"halal": True, "pirt": "P-IRT 123"},
                    "pemilik": {"telepon": "085712345678"},
                },
            },
        )
    ).ok()["updateUmkm"]
    assert resp["userErrors"] == []
    after = await umkm_profiles.find_by_id(dbs.mongo, doc["_id"])
    assert after is not None
    legal = after["legalitas"]
    # given fields changed, untouched nested fields (verification data!) kept
    assert legal["halal"] is True and legal["pirt"] == "P-IRT 123"
    assert legal["dokumen_url"] == doc["legalitas"]["dokumen_url"]
    assert legal["status_verifikasi"] == "VERIFIED"
    assert legal["verified_by"] == staff.id
    assert legal["tanggal_verifikasi"] == doc["legalitas"]["tanggal_verifikasi"]
    assert after["pemilik"] == {**doc["pemilik"], "telepon": "085712345678"}
    assert after["wilayah"] == doc["wilayah"] and after["nama_usaha"] == doc["nama_usaha"]
    assert after["lokasi"] == doc["lokasi"] and after["geohash"] == doc["geohash"]
    # non-identity edits by the owner keep the UMKM VERIFIED
    assert resp["umkm"]["legalitas"]["statusVerifikasi"] == "VERIFIED"

    # explicit null clears an optional field only; kota alone keeps provinsi and alamat
    resp = (
        await as_owner(
            UPDATE,
            {
                "id": uid,
                "input": {"legalitas": {"pirt": None}, "wilayah": {"kota": "Batu"}},
            },
        )
    ).ok()["updateUmkm"]
    after = await umkm_profiles.find_by_id(dbs.mongo, doc["_id"])
    assert after is not None
    assert after["legalitas"]["pirt"] is None and after["legalitas"]["halal"] is True
    assert after["wilayah"] == {**doc["wilayah"], "kota": "Batu"}
    # kota is part of wilayah: an owner's change sends it back to PENDING
    assert after["legalitas"]["status_verifikasi"] == "PENDING"
    # lokasi replaced as a point (and its geohash with it)
    await as_owner(
        UPDATE, {"id": uid, "input": {"lokasi": {"latitude": -7.87, "longitude": 112.52}}}
    )
    after = await umkm_profiles.find_by_id(dbs.mongo, doc["_id"])
    assert after is not None
    assert after["lokasi"]["coordinates"] == [112.52, -7.87]
    assert after["geohash"].startswith("qw")

    # required fields cannot be nulled
    bad = (await as_owner(UPDATE, {"id": uid, "input": {"namaUsaha": None}})).ok()["updateUmkm"]
    assert _errors(bad) == [(["input", "namaUsaha"], "REQUIRED")]


async def test_update_permissions_and_admin_edits(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner, other = await factory.account("UMKM_OWNER"), await factory.account("UMKM_OWNER")
    admin, staff = await factory.account("ADMIN"), await factory.account("PEJABAT")
    doc = await insert_umkm(dbs, owner_id=owner.id, verified_by=staff.id)
    uid = str(doc["_id"])
    patch = {"id": uid, "input": {"namaUsaha": "Nama Baru Sekali"}}
    assert (await api.as_(other.token)(UPDATE, patch)).error_codes == ["FORBIDDEN"]
    assert (await api.as_(staff.token)(UPDATE, patch)).error_codes == ["FORBIDDEN"]
    missing = (await api.as_(owner.token)(UPDATE, {**patch, "id": str(uuid.uuid4())})).ok()[
        "updateUmkm"
    ]
    assert _errors(missing) == [(["id"], "NOT_FOUND")]
    # ADMIN corrections do not need a new verification
    by_admin = (await api.as_(admin.token)(UPDATE, patch)).ok()["updateUmkm"]
    assert by_admin["umkm"]["namaUsaha"] == "Nama Baru Sekali"
    assert by_admin["umkm"]["legalitas"]["statusVerifikasi"] == "VERIFIED"
    # the same value again is no change (stays VERIFIED even for the owner)
    same = (await api.as_(owner.token)(UPDATE, patch)).ok()["updateUmkm"]
    assert same["umkm"]["legalitas"]["statusVerifikasi"] == "VERIFIED"
    # nama search follows the rename
    found = (await api.as_(None)(LIST, {"filter": {"search": "nama baru sekali"}})).ok()
    assert [e["node"]["id"] for e in found["umkms"]["edges"]] == [uid]


# ------------------------------------------------------------------ visibility

VISIBILITY = """query($id: ID!) { umkm(id: $id) {
  id namaUsaha sektor tanggalBergabung isDeleted deletedAt
  wilayah { kota provinsi alamatLengkap } lokasi { latitude longitude }
  legalitas { nib pirt halal dokumenUrl statusVerifikasi tanggalVerifikasi rejectionReason
              verifiedBy { id } }
  pemilik { nama nik telepon email }
  owner { id nama }
  summaryTerakhir { tahun bulan omzet }
} }"""

PUBLIC_FIELDS = ("id", "namaUsaha", "sektor", "tanggalBergabung", "isDeleted", "lokasi")


async def _visibility_fixture(
    factory: Factory, dbs: Databases
) -> tuple[dict[str, Account], dict[str, Any]]:
    who = {
        "owner": await factory.account("UMKM_OWNER"),
        "other": await factory.account("UMKM_OWNER"),
        "pejabat": await factory.account("PEJABAT"),
        "admin": await factory.account("ADMIN"),
    }
    verified = await insert_umkm(
        dbs,
        owner_id=who["owner"].id,
        verified_by=who["pejabat"].id,
        latitude=-7.95,
        longitude=112.61,
    )
    await dbs.mongo[umkm_profiles.COLLECTION].update_one(
        {"_id": verified["_id"]},
        {
            "$set": {
                "pemilik.nik": "3573010101800001",
                "legalitas.rejection_reason": "catatan lama",
                "summary_terakhir": {"tahun": 2025, "bulan": 5, "omzet": 1_000_000},
            }
        },
    )
    pending = await insert_umkm(dbs, owner_id=who["owner"].id, status="PENDING")
    deleted = await insert_umkm(dbs, owner_id=who["owner"].id, deleted=True)
    return who, {"verified": verified, "pending": pending, "deleted": deleted}


async def test_field_visibility_per_audience(api: Api, factory: Factory, dbs: Databases) -> None:
    who, docs = await _visibility_fixture(factory, dbs)
    vid = str(docs["verified"]["_id"])

    async def view(token: str | None) -> dict[str, Any]:
        return (await api.as_(token)(VISIBILITY, {"id": vid})).ok()["umkm"]  # type: ignore[no-any-return]

    public = await view(None)
    owner = await view(who["owner"].token)
    other = await view(who["other"].token)
    pejabat = await view(who["pejabat"].token)
    admin = await view(who["admin"].token)
    for seen in (public, owner, other, pejabat, admin):
        for key in PUBLIC_FIELDS:
            assert seen[key] == owner[key]
        assert seen["wilayah"]["kota"] == "Malang" and seen["wilayah"]["provinsi"] == "Jawa Timur"
        assert seen["legalitas"]["statusVerifikasi"] == "VERIFIED"
        assert seen["legalitas"]["tanggalVerifikasi"]
    # PUBLIC and another owner: nothing private
    for outsider in (public, other):
        assert outsider["pemilik"] is None and outsider["owner"] is None
        assert outsider["wilayah"]["alamatLengkap"] is None
        assert outsider["legalitas"]["dokumenUrl"] is None
        assert outsider["legalitas"]["rejectionReason"] is None
        assert outsider["legalitas"]["verifiedBy"] is None
        assert outsider["summaryTerakhir"] is None
    # the owner: everything of their own, except who verified (staff only)
    assert owner["pemilik"]["nik"] == "3573010101800001"
    assert owner["owner"]["id"] == who["owner"].gid
    assert owner["wilayah"]["alamatLengkap"] == "Jl. Rahasia 2"
    assert owner["legalitas"]["dokumenUrl"] == "https://dokumen.contoh.id/x.pdf"
    assert owner["legalitas"]["rejectionReason"] == "catatan lama"
    assert owner["legalitas"]["verifiedBy"] is None
    assert owner["summaryTerakhir"] == {"tahun": 2025, "bulan": 5, "omzet": 1_000_000}
    # PEJABAT: all staff fields, NIK masked
    assert pejabat["pemilik"]["nik"] == "3573********0001"
    assert pejabat["owner"]["id"] == who["owner"].gid
    assert pejabat["legalitas"]["verifiedBy"] == {"id": who["pejabat"].gid}
    assert pejabat["wilayah"]["alamatLengkap"] == "Jl. Rahasia 2"
    assert pejabat["legalitas"]["dokumenUrl"] and pejabat["legalitas"]["rejectionReason"]
    assert pejabat["summaryTerakhir"] is not None
    # ADMIN: everything, NIK in full
    assert admin["pemilik"]["nik"] == "3573010101800001"
    assert admin["legalitas"]["verifiedBy"] == {"id": who["pejabat"].gid}
    assert admin["owner"]["id"] == who["owner"].gid


async def test_row_visibility_per_audience(api: Api, factory: Factory, dbs: Databases) -> None:
    who, docs = await _visibility_fixture(factory, dbs)
    expected = {
        # audience: which of verified / pending / deleted umkm(id) returns
        None: {"verified"},
        "owner": {"verified", "pending"},
        "other": {"verified"},
        "pejabat": {"verified", "pending"},
        "admin": {"verified", "pending", "deleted"},
    }
    for audience, visible in expected.items():
        token = who[audience].token if audience else None
        for name, doc in docs.items():
            got = (await api.as_(token)(GET, {"id": str(doc["_id"])})).ok()["umkm"]
            assert (got is not None) == (name in visible), (audience, name)
    for junk in ("not-a-uuid", "", str(uuid.uuid4())):
        assert (await api.as_(None)(GET, {"id": junk})).ok() == {"umkm": None}
    # lists: an owner sees only own (any status); status filter applies within
    own = (await api.as_(who["owner"].token)(LIST, {"first": 100})).ok()["umkms"]
    ids = {e["node"]["id"] for e in own["edges"]}
    assert ids == {str(docs["verified"]["_id"]), str(docs["pending"]["_id"])}
    only_pending = (
        await api.as_(who["owner"].token)(LIST, {"filter": {"status": "PENDING"}})
    ).ok()["umkms"]
    assert [e["node"]["id"] for e in only_pending["edges"]] == [str(docs["pending"]["_id"])]
    # PUBLIC: status filter ignored (always VERIFIED)
    public = (await api.as_(None)(LIST, {"filter": {"status": "PENDING"}, "first": 100})).ok()[
        "umkms"
    ]
    assert str(docs["pending"]["_id"]) not in {e["node"]["id"] for e in public["edges"]}


OWNER_UMKMS = """query($id: ID!) { umkm(id: $id) { owner { id umkms(first: 1) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id } } } } }"""


async def test_user_umkms(api: Api, factory: Factory, dbs: Databases) -> None:
    who, docs = await _visibility_fixture(factory, dbs)
    vid = str(docs["verified"]["_id"])
    staff_view = (await api.as_(who["pejabat"].token)(OWNER_UMKMS, {"id": vid})).ok()
    umkms = staff_view["umkm"]["owner"]["umkms"]
    assert umkms["totalCount"] == 2  # not deleted
    assert umkms["pageInfo"]["hasNextPage"] is True
    newest_first = sorted(
        (docs["verified"], docs["pending"]), key=lambda d: (d["created_at"], d["_id"].bytes)
    )[::-1]
    assert umkms["nodes"] == [{"id": str(newest_first[0]["_id"])}]
    nxt = """query($id: ID!, $after: String) { umkm(id: $id) { owner { umkms(first: 5,
      after: $after) { nodes { id } pageInfo { hasNextPage } } } } }"""
    rest = (
        await api.as_(who["pejabat"].token)(
            nxt, {"id": vid, "after": umkms["pageInfo"]["endCursor"]}
        )
    ).ok()["umkm"]["owner"]["umkms"]
    assert rest["nodes"] == [{"id": str(newest_first[1]["_id"])}]
    assert rest["pageInfo"]["hasNextPage"] is False
    mine = (await api.as_(who["owner"].token)(OWNER_UMKMS, {"id": vid})).ok()
    assert mine["umkm"]["owner"]["umkms"]["totalCount"] == 2  # self
    outsider = (await api.as_(who["other"].token)(OWNER_UMKMS, {"id": vid})).ok()
    assert outsider["umkm"]["owner"] is None
