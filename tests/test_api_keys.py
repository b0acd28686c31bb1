"""API keys for machines (issue 18): owners create, list and revoke keys; a key reports revenue
for its one UMKM only, is refused at once on every process when revoked, expired or its owner
suspended, and has a budget of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from db import api_keys
from db import financial_logs as fl
from db.drivers.handles import Databases
from tests.fin_support import SUBMIT, fin_umkm
from tests.import_support import HEADER, csv_bytes, payload, upload
from tests.support import Account, Api, Factory, LiveServer

CREATE = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    apiKey { id name prefix umkmId scopes createdAt expiresAt lastUsedAt revokedAt isActive
             umkm { id } }
    secret
    userErrors { field message code }
  }
}
"""
LIST = """
query($u: ID, $first: Int, $after: String) {
  apiKeys(umkmId: $u, first: $first, after: $after) {
    nodes { id name lastUsedAt revokedAt isActive }
    pageInfo { hasNextPage endCursor }
  }
}
"""
REVOKE = (
    "mutation($id: ID!) { revokeApiKey(id: $id) "
    "{ apiKey { id isActive revokedAt } userErrors { code } } }"
)


async def create_key(
    api: Api, owner: Account, umkm_id: uuid.UUID, expires_at: datetime | None = None
) -> tuple[str, str]:
    """(key id, secret)"""
    variables: dict[str, Any] = {"input": {"umkmId": str(umkm_id), "name": "Kasir depan"}}
    if expires_at is not None:
        variables["input"]["expiresAt"] = expires_at.isoformat()
    body = (await api.as_(owner.token)(CREATE, variables)).ok()["createApiKey"]
    assert body["userErrors"] == [], body
    return body["apiKey"]["id"], body["secret"]


def month_input(umkm_id: uuid.UUID, bulan: int, omzet: int = 1_000) -> dict[str, Any]:
    return {
        "input": {
            "umkmId": str(umkm_id),
            "tahun": 2024,
            "bulan": bulan,
            "omzet": omzet,
            "jumlahKaryawan": 2,
        }
    }


async def post(
    server: LiveServer, headers: dict[str, str], query: str, variables: Any = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
        return await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors") or []]


async def test_owner_creates_a_key_shown_once_and_stored_as_a_hash(
    api: Api, dbs: Databases, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner)
    expires = datetime.now(UTC) + timedelta(days=30)
    body = (
        await api.as_(owner.token)(
            CREATE,
            {
                "input": {
                    "umkmId": str(doc["_id"]),
                    "name": "Kasir",
                    "expiresAt": expires.isoformat(),
                }
            },
        )
    ).ok()["createApiKey"]
    key, secret = body["apiKey"], body["secret"]
    assert secret.startswith(f"sgk_{key['prefix']}_") and len(secret) > 50
    assert key["scopes"] == ["REVENUE_REPORTING"] and key["isActive"]
    assert key["umkm"]["id"] == str(doc["_id"]) and key["lastUsedAt"] is None
    stored = await dbs.mongo[api_keys.COLLECTION].find_one({"_id": uuid.UUID(key["id"])})
    assert stored is not None
    secret_part = secret.split("_", 2)[2]
    assert all(secret_part not in str(v) for v in stored.values())
    assert stored["secret_hash"] != secret_part and len(stored["secret_hash"]) == 64
    listed = (await api.as_(owner.token)(LIST, {"u": str(doc["_id"])})).ok()["apiKeys"]
    assert [n["id"] for n in listed["nodes"]] == [key["id"]]
    # Not for someone else's UMKM, not with an expiry in the past, not for another owner's list.
    other = await factory.account("UMKM_OWNER")
    theirs = await fin_umkm(factory, other)
    refused = (
        await api.as_(owner.token)(
            CREATE,
            {
                "input": {
                    "umkmId": str(theirs["_id"]),
                    "name": "x",
                    "expiresAt": "2020-01-01T00:00:00Z",
                }
            },
        )
    ).ok()["createApiKey"]
    assert refused["secret"] is None
    assert {e["code"] for e in refused["userErrors"]} == {"FORBIDDEN", "OUT_OF_RANGE"}
    assert (await api.as_(other.token)(LIST, {})).ok()["apiKeys"]["nodes"] == []
    staff = await factory.account("ADMIN")
    assert (
        await api.as_(staff.token)(CREATE, {"input": {"umkmId": str(doc["_id"]), "name": "x"}})
    ).error_codes == ["FORBIDDEN"]


async def test_a_key_reports_revenue_for_its_umkm_only(
    server: LiveServer, api: Api, dbs: Databases, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner)
    second = await fin_umkm(factory, owner)  # the same owner's other UMKM
    _, secret = await create_key(api, owner, doc["_id"])
    for bulan, headers in (
        (1, {"Authorization": f"ApiKey {secret}"}),
        (2, {"X-API-Key": secret}),
    ):
        done = await post(server, headers, SUBMIT, month_input(doc["_id"], bulan))
        assert done.json()["data"]["submitFinancialLog"]["userErrors"] == [], done.json()
    row = await fl.get(dbs.cassandra, doc["_id"], 2024, 1)
    assert row is not None and row["input_by"] == owner.id  # recorded as the owner's
    other = await post(server, {"X-API-Key": secret}, SUBMIT, month_input(second["_id"], 1))
    [error] = other.json()["data"]["submitFinancialLog"]["userErrors"]
    assert error["code"] == "FORBIDDEN"
    assert await fl.get(dbs.cassandra, second["_id"], 2024, 1) is None
    # The import too: its UMKM by default, no other.
    content = csv_bytes([["tahun", "bulan", "omzet"], [2024, 3, 10], [2024, 4, 20]])
    body = payload(await upload(server, content, "pos.csv", headers={"X-API-Key": secret}))
    assert body["imported"] == 2
    foreign = csv_bytes([HEADER, [second["_id"], 2024, 5, 1, 1, None]])
    body = payload(await upload(server, foreign, "pos.csv", headers={"X-API-Key": secret}))
    assert body["imported"] == 0 and body["rejected"][0]["code"] == "FORBIDDEN"
    named = await upload(
        server,
        content,
        "pos.csv",
        headers={"X-API-Key": secret},
        variables={"umkmId": str(second["_id"])},
    )
    assert payload(named)["userErrors"][0]["code"] == "FORBIDDEN"
    assert await fl.years(dbs.cassandra, second["_id"]) == []
    # Its use is recorded.
    listed = (await api.as_(owner.token)(LIST, {"u": str(doc["_id"])})).ok()["apiKeys"]
    assert listed["nodes"][0]["lastUsedAt"] is not None


async def test_a_key_may_call_nothing_else(server: LiveServer, api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner)
    _, secret = await create_key(api, owner, doc["_id"])
    headers = {"Authorization": f"ApiKey {secret}"}
    for query in (
        "{ me { id } }",
        "{ today }",
        "{ umkms { nodes { id } } }",
        "{ __schema { queryType { name } } }",
        "{ apiKeys { nodes { id } } }",
        "{ ownerDashboard { __typename } }",
        'mutation { revokeApiKey(id: "00000000-0000-4000-8000-000000000000") '
        "{ userErrors { code } } }",
        'mutation { login(input: {email: "a@b.c", password: "x"}) { token } }',
        # a machine operation next to another one, also through a fragment
        "mutation($input: SubmitFinancialLogInput!) { submitFinancialLog(input: $input) "
        "{ log { omzet } } ...F } fragment F on Mutation { logout { ok } }",
    ):
        variables = month_input(doc["_id"], 6) if "$input" in query else None
        refused = await post(server, headers, query, variables)
        assert codes(refused) == ["FORBIDDEN"], (query, refused.json())
        assert refused.json().get("data") is None
    allowed = await post(server, headers, SUBMIT, month_input(doc["_id"], 7))
    assert allowed.json()["data"]["submitFinancialLog"]["log"]["omzet"] == 1_000


async def test_revoked_expired_and_suspended_keys_are_refused_on_every_process(
    server: LiveServer,
    server_factory: Callable[..., LiveServer],
    api: Api,
    dbs: Databases,
    factory: Factory,
) -> None:
    other_process = server_factory()
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner)
    key_id, secret = await create_key(api, owner, doc["_id"])
    headers = {"X-API-Key": secret}
    for live in (server, other_process):
        ok = await post(live, headers, SUBMIT, month_input(doc["_id"], 1))
        assert ok.json()["data"]["submitFinancialLog"]["userErrors"] == []
    revoked = (await api.as_(owner.token)(REVOKE, {"id": key_id})).ok()["revokeApiKey"]
    assert revoked["apiKey"]["isActive"] is False and revoked["apiKey"]["revokedAt"]
    for live in (server, other_process):
        refused = await post(live, headers, SUBMIT, month_input(doc["_id"], 2))
        assert refused.status_code == 401 and codes(refused) == ["UNAUTHENTICATED"]
        # refused, not served as PUBLIC
        assert codes(await post(live, headers, "{ today }")) == ["UNAUTHENTICATED"]
    assert await fl.get(dbs.cassandra, doc["_id"], 2024, 2) is None
    # Another owner cannot revoke it; a wrong secret with the right prefix is refused.
    stranger = await factory.account("UMKM_OWNER")
    key2_id, secret2 = await create_key(api, owner, doc["_id"])
    not_theirs = (await api.as_(stranger.token)(REVOKE, {"id": key2_id})).ok()["revokeApiKey"]
    assert not_theirs["userErrors"] == [{"code": "NOT_FOUND"}]
    forged = secret2[: len("sgk_") + 17] + "A" * 43
    assert codes(await post(server, {"X-API-Key": forged}, "{ today }")) == ["UNAUTHENTICATED"]
    assert codes(await post(server, {"X-API-Key": "nonsense"}, "{ today }")) == ["UNAUTHENTICATED"]
    # Expiry: refused from the moment it passes.
    soon = datetime.now(UTC) + timedelta(seconds=2)
    _, short = await create_key(api, owner, doc["_id"], soon)
    ok = await post(server, {"X-API-Key": short}, SUBMIT, month_input(doc["_id"], 3))
    assert ok.json()["data"]["submitFinancialLog"]["userErrors"] == []
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    late = await post(other_process, {"X-API-Key": short}, SUBMIT, month_input(doc["_id"], 4))
    assert late.status_code == 401
    # Suspending the owner disables the keys; reactivating brings them back.
    admin = await factory.account("ADMIN")
    suspend = (
        "mutation($id: ID!, $s: AccountStatus) "
        "{ updateUser(id: $id, input: {accountStatus: $s}) { userErrors { code } } }"
    )
    assert (await api.as_(admin.token)(suspend, {"id": owner.gid, "s": "SUSPENDED"})).ok()
    for live in (server, other_process):
        assert (
            await post(live, {"X-API-Key": secret2}, SUBMIT, month_input(doc["_id"], 5))
        ).status_code == 401
    assert (await api.as_(admin.token)(suspend, {"id": owner.gid, "s": "ACTIVE"})).ok()
    back = await post(server, {"X-API-Key": secret2}, SUBMIT, month_input(doc["_id"], 5))
    assert back.json()["data"]["submitFinancialLog"]["userErrors"] == []


async def test_each_key_has_its_own_budget(
    server_factory: Callable[..., LiveServer], api: Api, factory: Factory
) -> None:
    slow = dict(api.server.settings.budget_refill_per_s, API_KEY=0.001)  # no refill meanwhile
    server = server_factory(budget_refill_per_s=slow)
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner)
    _, first = await create_key(api, owner, doc["_id"])
    _, second = await create_key(api, owner, doc["_id"])

    async def remaining(headers: dict[str, str], bulan: int) -> int:
        answer = await post(server, headers, SUBMIT, month_input(doc["_id"], bulan))
        return int(answer.json()["extensions"]["cost"]["remaining"])

    burst = server.settings.budget_burst["API_KEY"]
    a1 = await remaining({"X-API-Key": first}, 1)
    cost = burst - a1
    assert 0 < cost < 100
    assert await remaining({"X-API-Key": first}, 2) == a1 - cost
    assert await remaining({"X-API-Key": second}, 3) == a1  # a full bucket of its own
    assert await remaining({"Authorization": f"Bearer {owner.token}"}, 4) != a1 - cost
