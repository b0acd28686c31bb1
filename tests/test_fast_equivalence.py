"""Fast execution (sigma_graphql/execution/fast_execution.py) against Strawberry's stock execution
on the served schema, real app, real databases: the same documents as every audience through a
server with it on and one with it off must give byte-for-byte the same JSON answer (data,
errors with their paths, locations and codes, nulls), covering restricted fields, aliases,
fragments, @include/@skip with variables, __typename, introspection and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from bench.shapes import SHAPES
from tests.support import Account, Api, Factory, LiveServer

UMKM_ALL = """
fragment Leaves on UMKM {
  __typename id namaUsaha sektor tanggalBergabung isDeleted deletedAt
  wilayah { __typename kota provinsi alamatLengkap }
  lokasi { latitude longitude }
  legalitas { nib pirt halal dokumenUrl statusVerifikasi tanggalVerifikasi rejectionReason
              verifiedBy { nama } }
  pemilik { nama nik telepon email }
  summaryTerakhir { tahun bulan omzet }
}
"""

DIRECTIVES = """
query ($kota: String!, $yes: Boolean!, $no: Boolean!) {
  umkms(first: 5, filter: {kota: $kota}) {
    nodes {
      id @skip(if: $yes)
      namaUsaha @include(if: $yes)
      wilayah @include(if: $no) { kota }
      lokasi @skip(if: $no) { latitude }
      ...F @include(if: $yes)
      ... on UMKM @skip(if: $yes) { sektor }
    }
  }
}
fragment F on UMKM { legalitas { statusVerifikasi } pemilik @skip(if: $no) { nama } }
"""


DOCUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "every UMKM field, restricted ones too": (
        UMKM_ALL
        + """
        query ($id: ID!) {
          umkm(id: $id) {
            ...Leaves
            owner { __typename id email nama role accountStatus nik telepon wilayah }
            financialLogs(first: 5) {
              nodes { umkmId tahun bulan omzet jumlahKaryawan catatan isFlagged flagReason }
              edges { cursor node { bulan } }
              pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            }
          }
        }""",
        {},
    ),
    "lists with aliases, inline fragments and repeated fields": (
        UMKM_ALL
        + """
        query ($kota: String!) {
          page: umkms(first: 10, filter: {kota: $kota}) {
            totalCount
            pageInfo { hasNextPage endCursor }
            nodes { ...Leaves n: namaUsaha namaUsaha ... on UMKM { w: wilayah { k: kota } } }
            edges { cursor node { id } }
          }
          again: umkms(first: 2, filter: {kota: $kota}) { nodes { id __typename } }
        }""",
        {},
    ),
    "@include and @skip with variables, on leaves, objects and fragments": (
        DIRECTIVES,
        {"yes": True, "no": False},
    ),
    "the same document with the opposite variables": (
        DIRECTIVES,
        {"yes": False, "no": True},
    ),
    "me with its UMKMs": (
        """{ me { __typename id nama email nik telepon role
                umkms(first: 3) { nodes { id namaUsaha summaryTerakhir { omzet } } } } }""",
        {},
    ),
    "a refused root field beside an allowed one": (
        "{ today notifications(first: 2) { nodes { id title } } unreadNotificationCount }",
        {},
    ),
    "an argument refused before execution": (
        """query ($kota: String!) {
          umkms(first: 3, filter: {kota: $kota}) {
            nodes { id financialLogs(first: -1) { nodes { bulan } } }
          }
        }""",
        {},
    ),
    "an error deep in the answer (null propagation)": (
        """query ($id: ID!) {
          today
          umkm(id: $id) {
            id wilayah { kota } financialLogs(after: "bukan-kursor") { nodes { bulan } }
          }
          umkms(first: 1) { nodes { id } }
        }""",
        {},
    ),
    "a bad id": ('{ umkm(id: "bukan-uuid") { id } }', {}),
    "a missing UMKM": ('{ umkm(id: "00000000-0000-4000-8000-000000000000") { id } }', {}),
    "introspection": (
        """{ __schema { queryType { name } types { name kind } }
             __type(name: "UMKM") { name fields { name type { name kind ofType { name kind } } } }
             __typename }""",
        {},
    ),
    "a validation error": ("{ umkms { nodes { tidakAda } } }", {}),
    "a variable of the wrong type": (
        "query ($n: Int!) { umkms(first: $n) { nodes { id } } }",
        {"n": "sepuluh"},
    ),
}

ROLES = ("PUBLIC", "UMKM_OWNER", "OTHER_OWNER", "PEJABAT", "ADMIN")


@pytest.fixture(scope="module")
def stock_server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(fast_execution=False)


@pytest.fixture(scope="module")
async def people(factory: Factory) -> dict[str, Any]:
    owner = await factory.account("UMKM_OWNER")
    other = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT", wilayah="Kediri")
    admin = await factory.account("ADMIN")
    kota = f"Kota Setara {owner.gid[:8]}"
    docs = [
        await factory.umkm(owner, kota=kota, status=s, latitude=lat)
        for s, lat in (("VERIFIED", -7.8), ("VERIFIED", None), ("PENDING", -7.9))
    ]
    accounts: dict[str, Account | None] = {
        "PUBLIC": None,
        "UMKM_OWNER": owner,
        "OTHER_OWNER": other,
        "PEJABAT": staff,
        "ADMIN": admin,
    }
    return {"accounts": accounts, "kota": kota, "id": str(docs[0]["_id"])}


async def _post(server: LiveServer, token: str | None, body: dict[str, Any]) -> Any:
    api = Api(server, token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with api.http() as client:
        resp = await client.post("/graphql", json=body, headers=headers)
    return resp.status_code, orjson.loads(resp.content)


def _without_request_ids(answer: Any) -> Any:
    """Request ids and the budget left differ between two requests by design; everything else
    must not."""
    if isinstance(answer, dict):
        return {
            k: _without_request_ids(v)
            for k, v in answer.items()
            if k not in ("requestId", "remaining")
        }
    if isinstance(answer, (list, tuple)):
        return [_without_request_ids(v) for v in answer]
    return answer


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
async def test_fast_and_stock_execution_give_the_same_answers(
    name: str, server: LiveServer, stock_server: LiveServer, people: dict[str, Any]
) -> None:
    query, extra = DOCUMENTS[name]
    variables = {"kota": people["kota"], "id": people["id"], **extra}
    seen_data = seen_errors = False
    for role in ROLES:
        account = people["accounts"][role]
        token = account.token if account else None
        body = {"query": query, "variables": variables}
        fast = await _post(server, token, body)
        stock = await _post(stock_server, token, body)
        assert _without_request_ids(fast) == _without_request_ids(stock), (role, fast, stock)
        seen_data = seen_data or bool(fast[1].get("data"))
        seen_errors = seen_errors or bool(fast[1].get("errors"))
    if "error" in name or "refused" in name:
        assert seen_errors, "the error must be reported"
    if name.startswith(("a validation", "a variable", "an argument refused")):
        assert not seen_data
    else:
        assert seen_data, "at least one audience must get data"


async def test_bench_shapes_answer_alike(
    server: LiveServer, stock_server: LiveServer, people: dict[str, Any]
) -> None:
    accounts = people["accounts"]
    for key in "abcd":
        shape = SHAPES[key]
        variables = dict(shape.variables)
        role = {"PUBLIC": "PUBLIC", "UMKM_OWNER": "UMKM_OWNER"}.get(shape.audience, "PEJABAT")
        account = accounts[role]
        token = account.token if account else None
        body = {"query": shape.query, "variables": variables}
        fast = await _post(server, token, body)
        stock = await _post(stock_server, token, body)
        assert fast[1].get("data") and not fast[1].get("errors"), fast
        assert _without_request_ids(fast) == _without_request_ids(stock)
