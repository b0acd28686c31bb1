"""DataLoader discipline: database round trips of shapes (a), (c), (d) do not grow with lists.

Each shape runs with 1 and with 100 items and must make the same number of round trips
(resp.round_trips, counted by instrumenting both drivers).
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.shapes import SHAPES
from db import umkm_profiles
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.maintenance.seed import INSERT_LOG, INSERT_YEAR, last_complete_months
from tests.support import Account, Api, Factory, LiveServer

N = 100
MONTHS = last_complete_months(14)  # spans two years, so logs come from several partitions
YEAR = MONTHS[-1][0]


@dataclass
class World:
    owner: Account  # owns every UMKM of `owner_kota`
    staff: Account
    owner_kota: str
    # 100 UMKMs with 100 different owners
    audit_kota: str


def _umkm_doc(owner: uuid.UUID, kota: str, i: int) -> MongoDoc:
    doc = umkm_profiles.new_umkm_doc(
        nama_usaha=f"Usaha RT {kota} {i:03d}",
        sektor="Kuliner",
        kota=kota,
        provinsi="Jawa Timur",
        pemilik={"nama": "Pemilik RT", "telepon": "081234567890"},
        owner_id=owner,
        status="VERIFIED",
        # No location: these rows must not crowd other tests' geo searches (shared database).
        latitude=None,
        longitude=None,
    )
    tahun, bulan = MONTHS[-1]
    doc["summary_terakhir"] = {"tahun": tahun, "bulan": bulan, "omzet": 1_000_000 + i}
    return doc


async def _logs(dbs: Databases, docs: list[MongoDoc]) -> None:
    rows = [
        (
            d["_id"],
            tahun,
            bulan,
            1_000_000 + bulan,
            3,
            None,
            datetime(tahun, bulan, 28, tzinfo=UTC),
            d["owner_id"],
            d["nama_usaha"],
            d["sektor"],
            d["wilayah"]["kota"],
        )
        for d in docs
        for tahun, bulan in MONTHS
    ]
    limit = asyncio.Semaphore(64)

    async def one(cql: str, params: tuple[object, ...]) -> None:
        async with limit:
            await dbs.cassandra.execute(cql, params)

    await asyncio.gather(*(one(INSERT_LOG, r) for r in rows))
    years = {(d["_id"], t) for d in docs for t, _ in MONTHS}
    await asyncio.gather(*(one(INSERT_YEAR, y) for y in years))


@pytest.fixture(scope="module")
async def world(factory: Factory, dbs: Databases) -> World:
    run = uuid.uuid4().hex[:6]
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT")
    owner_kota, audit_kota = f"Kota RT Pemilik {run}", f"Kota RT Audit {run}"
    owned = [_umkm_doc(owner.id, owner_kota, i) for i in range(N)]
    owners = [await factory.account("UMKM_OWNER", session=False) for _ in range(N)]
    audited = [_umkm_doc(o.id, audit_kota, i) for i, o in enumerate(owners)]
    await dbs.mongo[umkm_profiles.COLLECTION].insert_many(owned + audited)
    await _logs(dbs, owned + audited)
    return World(owner, staff, owner_kota, audit_kota)


async def _same_round_trips(api: Api, query: str, variables: dict[str, Any]) -> list[Any]:
    """Runs `query` with $n = 1 and $n = N; returns both data; asserts equal round trips."""
    one = await api(query, {**variables, "n": 1})
    many = await api(query, {**variables, "n": N})
    assert not one.errors and not many.errors, (one.errors, many.errors)
    assert one.round_trips == many.round_trips, (
        one.extensions["dbRoundTrips"],
        many.extensions["dbRoundTrips"],
    )
    return [one.data, many.data]


CATALOG = """
query ($n: Int!, $kota: String!) {
  umkms(first: $n, filter: {kota: $kota}) {
    pageInfo { hasNextPage }
    nodes {
      id namaUsaha sektor
      wilayah { kota provinsi }
      legalitas { statusVerifikasi }
      lokasi { latitude longitude }
    }
  }
}
"""


async def test_public_catalogue_round_trips_do_not_grow(api: Api, world: World) -> None:
    one, many = await _same_round_trips(api, CATALOG, {"kota": world.owner_kota})
    assert len(one["umkms"]["nodes"]) == 1
    assert len(many["umkms"]["nodes"]) == N


OWNER = """
query ($n: Int!) {
  me {
    id nama
    umkms(first: $n) {
      nodes {
        id namaUsaha sektor
        summaryTerakhir { tahun bulan omzet }
        financialLogs(first: 24) { nodes { tahun bulan omzet jumlahKaryawan catatan isFlagged } }
      }
    }
  }
  notifications(first: 20) { nodes { id type title isRead createdAt } }
}
"""


async def test_owner_query_round_trips_do_not_grow(api: Api, world: World) -> None:
    one, many = await _same_round_trips(api.as_(world.owner.token), OWNER, {})
    assert len(one["me"]["umkms"]["nodes"]) == 1
    nodes = many["me"]["umkms"]["nodes"]
    assert len(nodes) == N
    assert all(len(n["financialLogs"]["nodes"]) == len(MONTHS) for n in nodes)


AUDIT = """
query ($n: Int!, $kota: String!, $tahun: Int!) {
  umkms(first: $n, filter: {kota: $kota}) {
    nodes {
      id namaUsaha
      owner { nama }
      financialLogs(tahun: $tahun) { nodes { bulan omzet isFlagged } }
    }
  }
}
"""


async def test_staff_audit_round_trips_do_not_grow(api: Api, world: World) -> None:
    one, many = await _same_round_trips(
        api.as_(world.staff.token), AUDIT, {"kota": world.audit_kota, "tahun": YEAR}
    )
    assert len(one["umkms"]["nodes"]) == 1
    nodes = many["umkms"]["nodes"]
    assert len(nodes) == N
    assert all(n["owner"] and n["owner"]["nama"] for n in nodes)
    in_year = sum(1 for t, _ in MONTHS if t == YEAR)
    assert all(len(n["financialLogs"]["nodes"]) == in_year for n in nodes)


@pytest.fixture(scope="module")
def stock_api(server_factory: Callable[..., LiveServer]) -> Api:
    """The same app with Strawberry's stock execution (no inline leaves)."""
    return Api(server_factory(fast_execution=False))


async def test_fast_execution_answers_like_stock_execution(
    api: Api, stock_api: Api, world: World
) -> None:
    """sigma_graphql/execution/fast_execution.py changes how fields are completed, never what: the
    four
    read shapes give the same data and the same round trips with it on and off."""
    staff, owner = world.staff.token, world.owner.token
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        (CATALOG, {"n": N, "kota": world.owner_kota}, None),
        (CATALOG, {"n": N, "kota": world.audit_kota}, staff),
        (OWNER, {"n": N}, owner),
        (AUDIT, {"n": N, "kota": world.audit_kota, "tahun": YEAR}, staff),
        (SHAPES["b"].query, {"tahun": YEAR}, staff),
    ]
    for query, variables, token in cases:
        fast = await api.as_(token)(query, variables)
        stock = await stock_api.as_(token)(query, variables)
        assert not fast.errors and not stock.errors, (fast.errors, stock.errors)
        assert fast.data == stock.data
        assert fast.round_trips == stock.round_trips


# What a request builds and must free as soon as it ends: graphql-core's executor (whose async
# helpers were its own bound methods), our context and Starlette's request it holds, and each
# Cassandra statement's future (held by its callbacks and its timer).
REQUEST_OBJECTS = {
    "sigma_graphql.execution.fast_execution.FastExecutor",
    "sigma_graphql.execution.cycle_free.CycleFreeExecutor",
    "strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext",
    "sigma_graphql.request.context.Context",
    "loaders.Loaders",
    "starlette.requests.Request",
    "cassandra.cluster.ResponseFuture",
    "cassandra.connection.Timer",
}


def _type_name(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


@pytest.mark.parametrize("execution", ["fast", "stock"])
async def test_requests_leave_nothing_for_the_cyclic_collector(
    execution: str, api: Api, stock_api: Api, world: World
) -> None:
    """Objects caught in reference cycles outlive their request until the collector runs, and
    every collection walks them (issue 16: in the served process a catalogue request spent
    twice B1's time in the collector). The servers run in this process, so the collector's
    findings over three shapes (MongoDB and Cassandra) are here to read; both execution paths."""
    client = api if execution == "fast" else stock_api
    staff, owner = world.staff.token, world.owner.token
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        (CATALOG, {"n": N, "kota": world.owner_kota}, None),
        (OWNER, {"n": N}, owner),
        (AUDIT, {"n": N, "kota": world.audit_kota, "tahun": YEAR}, staff),
    ]
    for query, variables, token in cases:  # warm: caches and plans filled before counting
        assert not (await client.as_(token)(query, variables)).errors
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for query, variables, token in cases:
            assert not (await client.as_(token)(query, variables)).errors
        gc.collect()
        left = Counter(_type_name(o) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not {name: left[name] for name in REQUEST_OBJECTS if left[name]}, left.most_common(20)
