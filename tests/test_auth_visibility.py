"""Visibility of every restricted User field for every audience, and no password hash anywhere."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest

from db import users
from schema.types.users import user_from_doc
from sigma_graphql.core.viewer import Audience, Viewer
from tests.auth_support import (
    CHANGE,
    LOGIN,
    ME,
    PASSWORD,
    REGISTER,
    auth_api_fixture,  # noqa: F401 (fixture auth_api)
    auth_server_fixture,  # noqa: F401 (fixture auth_server)
    register_input,
)
from tests.support import Api, Factory

NIK = "3573010101010001"
OWNER_DOC = users.new_user_doc(
    email="pemilik@contoh.id",
    password_hash="$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    role="UMKM_OWNER",
    nama="Pemilik Usaha",
    nik=NIK,
    telepon="081234567890",
)
SELF = Viewer(Audience.UMKM_OWNER, OWNER_DOC["_id"])
VIEWERS = {
    "self": SELF,
    "admin": Viewer(Audience.ADMIN, uuid.uuid4()),
    "pejabat": Viewer(Audience.PEJABAT, uuid.uuid4()),
    "other_owner": Viewer(Audience.UMKM_OWNER, uuid.uuid4()),
    "public": Viewer(),
}
# audience -> (email, nik, telepon, umkms visible)
EXPECTED: dict[str, tuple[str | None, str | None, str | None, bool]] = {
    "self": ("pemilik@contoh.id", NIK, "081234567890", True),
    "admin": ("pemilik@contoh.id", NIK, "081234567890", True),
    "pejabat": (None, "3573********0001", "081234567890", True),
    "other_owner": (None, None, None, False),
    "public": (None, None, None, False),
}


@pytest.mark.parametrize("audience", list(VIEWERS))
def test_user_field_matrix(audience: str) -> None:
    user = user_from_doc(OWNER_DOC, VIEWERS[audience])
    assert (user.email, user.nik, user.telepon, user.umkms_visible) == EXPECTED[audience]
    # Never restricted: id, nama, role, status, wilayah, createdAt.
    assert user.nama == "Pemilik Usaha" and user.role.value == "UMKM_OWNER"
    assert user.id == str(OWNER_DOC["_id"])


def test_staff_accounts_have_no_nik_for_anyone() -> None:
    staff = users.new_user_doc(
        email="p@pemda.go.id", password_hash="x", role="PEJABAT", nama="Pejabat"
    )
    for viewer in VIEWERS.values():
        assert user_from_doc(staff, viewer).nik is None


FIELDS = "id email nik telepon"


async def test_visibility_over_http_for_self_and_admin(api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    admin = await factory.account("ADMIN")
    me = (await api.as_(owner.token)(f"{{ me {{ {FIELDS} }} }}")).ok()["me"]
    assert me == {
        "id": owner.gid,
        "email": owner.doc["email"],
        "nik": owner.doc["nik"],
        "telepon": owner.doc["telepon"],
    }
    listed = (
        await api.as_(admin.token)(
            f'{{ users(search: "{owner.doc["email"]}") {{ nodes {{ {FIELDS} }} }} }}'
        )
    ).ok()["users"]["nodes"]
    assert listed == [me]
    assert (await api(f"{{ me {{ {FIELDS} }} }}")).ok()["me"] is None


async def test_no_password_hash_in_any_response_or_log(
    auth_api: Api, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await factory.account("ADMIN")
    data = register_input()
    bodies: list[str] = []

    async with httpx.AsyncClient(base_url=auth_api.server.base, timeout=60) as http:
        headers = dict(auth_api.headers)

        async def post(query: str, variables: dict[str, Any], token: str | None = None) -> None:
            h = {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}
            r = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=h
            )
            bodies.append(r.text + str(r.headers))

        await post(REGISTER, {"input": data})
        await post(REGISTER, {"input": data})  # taken
        await post(LOGIN, {"email": data["email"], "password": PASSWORD})  # unverified
        await post(LOGIN, {"email": admin.doc["email"], "password": admin.password})
        await post(ME, {}, admin.token)
        await post("{ users(first: 100) { nodes { id email nik telepon } } }", {}, admin.token)
        await post(CHANGE, {"c": "salah-salah-1", "n": "x"}, admin.token)
        await post("{ users(first: 100) { nodes { passwordHash } } }", {}, admin.token)  # no field
        await post("{ me { id } ", {}, admin.token)  # syntax error
    for body in bodies:
        assert "$argon2" not in body
    assert "$argon2" not in caplog.text
    # The driver's debug log did print user documents: redacted, not absent.
    assert "[password hash redacted]" in caplog.text
    assert all("password_hash" not in body for body in bodies)


OWNER_FIELDS = "id email nik telepon umkms { totalCount nodes { id } }"


async def test_user_fields_over_http_for_every_audience(api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    umkm = await factory.umkm(owner, status="VERIFIED", latitude=None, longitude=None)
    admin = await factory.account("ADMIN")
    pejabat = await factory.account("PEJABAT")
    stranger = await factory.account("UMKM_OWNER")
    query = f'{{ umkm(id: "{umkm["_id"]}") {{ id owner {{ {OWNER_FIELDS} }} }} }}'
    nik, email, telepon = owner.doc["nik"], owner.doc["email"], owner.doc["telepon"]
    umkms = {"totalCount": 1, "nodes": [{"id": str(umkm["_id"])}]}

    def seen(email: str | None, nik: str | None) -> dict[str, Any]:
        return {"id": owner.gid, "email": email, "nik": nik, "telepon": telepon, "umkms": umkms}

    results = {
        name: (await api.as_(account.token if account else None)(query)).ok()["umkm"]
        for name, account in (
            ("self", owner),
            ("admin", admin),
            ("pejabat", pejabat),
            ("other_owner", stranger),
            ("public", None),
        )
    }
    assert results["self"]["owner"] == seen(email, nik)
    assert results["admin"]["owner"] == seen(email, nik)
    assert results["pejabat"]["owner"] == seen(None, nik[:4] + "*" * 8 + nik[-4:])
    # A VERIFIED UMKM is public; its owner account is not.
    for audience in ("other_owner", "public"):
        assert results[audience] == {"id": str(umkm["_id"]), "owner": None}


async def test_user_umkms_batch_in_lists(api: Api, factory: Factory) -> None:
    tag = uuid.uuid4().hex[:8]
    admin = await factory.account("ADMIN")
    for i in range(4):
        owner = await factory.account("UMKM_OWNER", nama=f"Batch {tag} {i}", session=False)
        await factory.umkm(owner, latitude=None, longitude=None)
    query = (
        "query($s: String, $f: Int) "
        "{ users(search: $s, first: $f) { nodes { id umkms { totalCount } } } }"
    )
    one = await api.as_(admin.token)(query, {"s": tag, "f": 1})
    many = await api.as_(admin.token)(query, {"s": tag, "f": 100})
    assert [n["umkms"]["totalCount"] for n in many.ok()["users"]["nodes"]] == [1, 1, 1, 1]
    assert one.round_trips == many.round_trips
