"""Account administration (ADMIN only): list with filters and cursors, create, update, delete."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db.drivers.handles import Databases
from tests.auth_support import (
    ME,
    auth_api_fixture,  # noqa: F401 (fixture auth_api)
    auth_server_fixture,  # noqa: F401 (fixture auth_server)
    codes,
    fields,
    login,
)
from tests.support import Account, Api, Factory

USERS = """
query($role: Role, $search: String, $first: Int, $after: String) {
  users(role: $role, search: $search, first: $first, after: $after) {
    totalCount
    edges { cursor node { id email nama role accountStatus createdAt } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
CREATE = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) {
    user { id email nama role accountStatus wilayah nik }
    userErrors { field message code }
  }
}"""
UPDATE = """
mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) {
    user { id nama role accountStatus wilayah }
    userErrors { field message code }
  }
}"""
DELETE = "mutation($id: ID!) { deleteUser(id: $id) { ok userErrors { field message code } } }"

ADMIN_OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("users", USERS, {}),
    (
        "createUser",
        CREATE,
        {
            "input": {
                "email": "x@contoh.id",
                "nama": "Pejabat X",
                "password": "lontong-sayur-99",
                "role": "PEJABAT",
            }
        },
    ),
    ("updateUser", UPDATE, {"id": str(uuid.uuid4()), "input": {"nama": "Nama Baru"}}),
    ("deleteUser", DELETE, {"id": str(uuid.uuid4())}),
]


@pytest.fixture
async def admin(factory: Factory) -> Account:
    return await factory.account("ADMIN")


@pytest.mark.parametrize(("name", "query", "variables"), ADMIN_OPERATIONS)
@pytest.mark.parametrize(
    ("role", "code"),
    [("PEJABAT", "FORBIDDEN"), ("UMKM_OWNER", "FORBIDDEN"), (None, "UNAUTHENTICATED")],
)
async def test_admin_operations_are_refused_to_everyone_else(
    api: Api,
    factory: Factory,
    dbs: Databases,
    name: str,
    query: str,
    variables: dict[str, Any],
    role: str | None,
    code: str,
) -> None:
    token = (await factory.account(role)).token if role else None
    before = await dbs.mongo["users"].count_documents({})
    resp = await api.as_(token)(query, variables)
    assert resp.error_codes == [code]
    assert resp.errors[0]["path"] == [name]
    assert resp.data is None
    assert await dbs.mongo["users"].count_documents({}) == before


async def test_create_user_makes_active_staff_only(
    auth_api: Api, admin: Account, dbs: Databases
) -> None:
    as_admin = auth_api.as_(admin.token)
    email = f"Pejabat-{uuid.uuid4().hex[:8]}@Pemda.go.id"
    made = (
        await as_admin(
            CREATE,
            {
                "input": {
                    "email": email,
                    "nama": "Budi Santoso",
                    "password": "rendang-padang-77",
                    "role": "PEJABAT",
                    "wilayah": "Malang",
                }
            },
        )
    ).ok()["createUser"]
    assert made["userErrors"] == []
    user = made["user"]
    assert user["email"] == email and user["accountStatus"] == "ACTIVE"
    assert user["role"] == "PEJABAT" and user["wilayah"] == "Malang" and user["nik"] is None
    logged = await login(auth_api, email.lower(), "rendang-padang-77")
    assert logged["user"]["role"] == "PEJABAT"

    # Owners sign up themselves; wilayah is for PEJABAT; e-mails stay unique.
    refused = (
        await as_admin(
            CREATE,
            {
                "input": {
                    "email": email.upper(),
                    "nama": "A",
                    "password": "123456",
                    "role": "UMKM_OWNER",
                    "wilayah": "Batu",
                }
            },
        )
    ).ok()["createUser"]
    assert refused["user"] is None
    assert fields(refused) == {
        "input.email",
        "input.nama",
        "input.password",
        "input.role",
        "input.wilayah",
    }
    assert "TAKEN" in codes(refused)
    assert await dbs.mongo["users"].count_documents({"email_lower": email.lower()}) == 1


async def test_update_user_and_suspension_ends_sessions(
    auth_api: Api, admin: Account, factory: Factory
) -> None:
    as_admin = auth_api.as_(admin.token)
    pejabat = await factory.account("PEJABAT")
    changed = (
        await as_admin(
            UPDATE, {"id": pejabat.gid, "input": {"nama": "Dewi Lestari", "wilayah": "Surabaya"}}
        )
    ).ok()["updateUser"]
    assert changed["userErrors"] == []
    assert changed["user"]["nama"] == "Dewi Lestari" and changed["user"]["wilayah"] == "Surabaya"
    promoted = (await as_admin(UPDATE, {"id": pejabat.gid, "input": {"role": "ADMIN"}})).ok()
    assert promoted["updateUser"]["user"]["role"] == "ADMIN"
    # A role change applies to the live session at once (viewer is read per request).
    users_list = await auth_api.as_(pejabat.token)(USERS, {"first": 1})
    assert not users_list.errors

    owner = await factory.account("UMKM_OWNER")
    suspended = (
        await as_admin(UPDATE, {"id": owner.gid, "input": {"accountStatus": "SUSPENDED"}})
    ).ok()["updateUser"]
    assert suspended["user"]["accountStatus"] == "SUSPENDED"
    assert (await auth_api.as_(owner.token)(ME)).ok()["me"] is None
    assert codes(await login(auth_api, owner.doc["email"], owner.password)) == ["INVALID"]
    await as_admin(UPDATE, {"id": owner.gid, "input": {"accountStatus": "ACTIVE"}})
    assert (await login(auth_api, owner.doc["email"], owner.password))["token"]

    bad = (
        await as_admin(
            UPDATE, {"id": owner.gid, "input": {"nama": "X", "accountStatus": "UNVERIFIED"}}
        )
    ).ok()["updateUser"]
    assert fields(bad) == {"input.nama", "input.accountStatus"} and bad["user"] is None
    staff_to_owner = (
        await as_admin(UPDATE, {"id": admin.gid, "input": {"accountStatus": "SUSPENDED"}})
    ).ok()["updateUser"]
    assert codes(staff_to_owner) == ["FORBIDDEN"]
    missing = (await as_admin(UPDATE, {"id": "bukan-uuid", "input": {"nama": "Siapa"}})).ok()
    assert codes(missing["updateUser"]) == ["NOT_FOUND"]


async def test_delete_user_keeps_umkms_ownerless_and_never_self(
    auth_api: Api, admin: Account, factory: Factory, dbs: Databases
) -> None:
    as_admin = auth_api.as_(admin.token)
    owner = await factory.account("UMKM_OWNER")
    umkm = await factory.umkm(owner, latitude=None, longitude=None)  # off the geo tests
    self_delete = (await as_admin(DELETE, {"id": admin.gid})).ok()["deleteUser"]
    assert self_delete["ok"] is False and codes(self_delete) == ["FORBIDDEN"]
    assert (await as_admin(ME)).ok()["me"]["id"] == admin.gid

    done = (await as_admin(DELETE, {"id": owner.gid})).ok()["deleteUser"]
    assert done == {"ok": True, "userErrors": []}
    assert await dbs.mongo["users"].count_documents({"_id": owner.id}) == 0
    assert await dbs.mongo["sessions"].count_documents({"user_id": owner.id}) == 0
    assert (await auth_api.as_(owner.token)(ME)).ok()["me"] is None
    kept = await dbs.mongo["umkm_profiles"].find_one({"_id": umkm["_id"]})
    assert kept is not None and kept["owner_id"] is None
    again = (await as_admin(DELETE, {"id": owner.gid})).ok()["deleteUser"]
    assert codes(again) == ["NOT_FOUND"]


async def test_users_list_filters_and_pages_newest_first(
    api: Api, admin: Account, factory: Factory, dbs: Databases
) -> None:
    tag = uuid.uuid4().hex[:8]
    made = [
        await factory.account("PEJABAT", nama=f"Pejabat {tag} {i}", session=False) for i in range(5)
    ]
    owner = await factory.account("UMKM_OWNER", nama=f"Pemilik {tag.upper()}", session=False)
    # Distinct creation times (the server keeps milliseconds; equal ones would order by id).
    base = datetime.now(UTC)
    for i, account in enumerate([*made, owner]):
        await dbs.mongo["users"].update_one(
            {"_id": account.id}, {"$set": {"created_at": base + timedelta(seconds=i)}}
        )
    as_admin = api.as_(admin.token)

    everyone = (await as_admin(USERS, {"search": tag, "first": 100})).ok()["users"]
    assert everyone["totalCount"] == 6
    ids = [e["node"]["id"] for e in everyone["edges"]]
    assert ids == [owner.gid, *(a.gid for a in reversed(made))]  # newest first
    assert everyone["nodes"] == [{"id": i} for i in ids]

    seen: list[str] = []
    after = None
    while True:
        page = (
            await as_admin(USERS, {"role": "PEJABAT", "search": tag, "first": 2, "after": after})
        ).ok()["users"]
        assert page["totalCount"] == 5
        seen += [n["id"] for n in page["nodes"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [a.gid for a in reversed(made)]

    by_email = (
        await as_admin(USERS, {"search": made[0].doc["email"].upper()[3:15], "first": 5})
    ).ok()["users"]
    assert made[0].gid in [n["id"] for n in by_email["nodes"]]
    one = await as_admin(USERS, {"search": tag, "first": 1})
    many = await as_admin(USERS, {"search": tag, "first": 100})
    assert one.round_trips == many.round_trips
    assert (await as_admin(USERS, {"first": 101})).error_codes == ["BAD_USER_INPUT"]
    assert (await as_admin(USERS, {"after": "%%%"})).error_codes == ["BAD_USER_INPUT"]


async def test_users_cursor_breaks_creation_time_ties_by_id(
    api: Api, admin: Account, factory: Factory, dbs: Databases
) -> None:
    tag = uuid.uuid4().hex[:8]
    made = [await factory.account("PEJABAT", nama=f"Kembar {tag}", session=False) for _ in range(4)]
    same = datetime.now(UTC).replace(microsecond=0)
    await dbs.mongo["users"].update_many(
        {"_id": {"$in": [a.id for a in made]}}, {"$set": {"created_at": same}}
    )
    seen: list[str] = []
    after = None
    for _ in range(6):
        page = (
            await api.as_(admin.token)(USERS, {"search": tag, "first": 1, "after": after})
        ).ok()["users"]
        seen += [n["id"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == sorted((a.gid for a in made), key=lambda i: uuid.UUID(i).bytes, reverse=True)
