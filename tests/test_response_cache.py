"""The public answer cache (sigma_graphql/limits/response_cache.py) against the real databases:
anonymous
reads are answered from memory, a mutation on the same process is visible at once, writes
elsewhere within the TTL, signed-in viewers and errors are never cached, budgets still apply,
and concurrent misses execute once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sigma_graphql.limits.response_cache import ResponseStore
from tests.support import Api, Factory, LiveServer
from tests.umkm_support import CREATE, valid_input

LIST = """
query ($kota: String!) {
  umkms(first: 10, filter: {kota: $kota}) { nodes { id namaUsaha wilayah { kota } } }
}
"""


@pytest.fixture(scope="module")
def cached(server_factory: Callable[..., LiveServer]) -> Api:
    return Api(server_factory(public_cache_ttl_s=60.0))


def _names(resp: Any) -> list[str]:
    return sorted(n["namaUsaha"] for n in resp.ok()["umkms"]["nodes"])


async def test_anonymous_reads_are_answered_from_memory(cached: Api, factory: Factory) -> None:
    kota = f"Kota Cache {uuid.uuid4().hex[:6]}"
    await factory.umkm(None, kota=kota, nama="Usaha Satu")
    first = await cached(LIST, {"kota": kota})
    again = await cached(LIST, {"kota": kota})
    assert _names(first) == _names(again) == ["Usaha Satu"]
    assert first.round_trips > 0
    assert again.round_trips == 0
    # Other variables are another answer.
    other = await cached(LIST, {"kota": kota + " Lain"})
    assert other.ok()["umkms"]["nodes"] == [] and other.round_trips > 0


async def test_a_mutation_on_this_process_is_visible_at_once(cached: Api, factory: Factory) -> None:
    kota = f"Kota Tulis {uuid.uuid4().hex[:6]}"
    await factory.umkm(None, kota=kota, nama="Usaha Lama")
    assert _names(await cached(LIST, {"kota": kota})) == ["Usaha Lama"]
    admin = await factory.account("ADMIN")
    data = valid_input(namaUsaha="Usaha Baru")
    data["wilayah"]["kota"] = kota
    created = await cached.as_(admin.token)(CREATE, {"input": data})
    assert created.ok()["createUmkm"]["userErrors"] == []
    after = await cached(LIST, {"kota": kota})
    assert _names(after) == ["Usaha Baru", "Usaha Lama"]
    assert after.round_trips > 0


async def test_writes_elsewhere_show_within_the_ttl(
    server_factory: Callable[..., LiveServer], factory: Factory
) -> None:
    api = Api(server_factory(public_cache_ttl_s=0.5))
    kota = f"Kota TTL {uuid.uuid4().hex[:6]}"
    await factory.umkm(None, kota=kota, nama="Usaha A")
    assert _names(await api(LIST, {"kota": kota})) == ["Usaha A"]
    # Another API process (here: the factory) writes; this process cannot know until the TTL.
    await factory.umkm(None, kota=kota, nama="Usaha B")
    assert _names(await api(LIST, {"kota": kota})) == ["Usaha A"]
    await asyncio.sleep(0.6)
    assert _names(await api(LIST, {"kota": kota})) == ["Usaha A", "Usaha B"]


async def test_signed_in_viewers_and_errors_are_never_cached(cached: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    me = "{ me { id nama } }"
    one = await cached.as_(owner.token)(me)
    two = await cached.as_(owner.token)(me)
    assert one.ok() == two.ok() and two.round_trips > 0
    refused = [await cached("{ notifications(first: 5) { nodes { id } } }") for _ in range(2)]
    assert [r.error_codes for r in refused] == [["UNAUTHENTICATED"], ["UNAUTHENTICATED"]]


async def test_answers_from_memory_still_spend_the_budget(
    server_factory: Callable[..., LiveServer], factory: Factory
) -> None:
    api = Api(
        server_factory(
            public_cache_ttl_s=60.0,
            budget_burst={"PUBLIC": 60, "UMKM_OWNER": 60, "PEJABAT": 60, "ADMIN": 60},
            budget_refill_per_s={"PUBLIC": 0.001, "UMKM_OWNER": 1, "PEJABAT": 1, "ADMIN": 1},
            # Buckets in the process, so a cache hit shows zero round trips (shared budgets
            # lease from MongoDB: tests/test_shared_budget.py).
            budget_shared=False,
        )
    )
    kota = f"Kota Budget {uuid.uuid4().hex[:6]}"
    seen = []
    for _ in range(8):
        resp = await api(LIST, {"kota": kota})
        seen.append((resp.error_codes, resp.extensions["cost"]["remaining"], resp.round_trips))
    remaining = [r for _, r, _ in seen]
    assert remaining == sorted(remaining, reverse=True) and remaining[0] > remaining[-1]
    assert seen[1][2] == 0  # a cache hit, charged all the same
    assert seen[-1][0] == ["RATE_LIMITED"]


async def test_concurrent_misses_execute_once(cached: Api, factory: Factory) -> None:
    kota = f"Kota Serentak {uuid.uuid4().hex[:6]}"
    await factory.umkm(None, kota=kota, nama="Usaha Serentak")
    responses = await asyncio.gather(*(cached(LIST, {"kota": kota}) for _ in range(12)))
    assert all(_names(r) == ["Usaha Serentak"] for r in responses)
    executed = [r.round_trips for r in responses if r.round_trips > 0]
    assert len(executed) == 1, [r.round_trips for r in responses]


def test_store_expires_and_evicts_least_recently_used() -> None:
    now = [0.0]
    store = ResponseStore(ttl_s=10, max_entries=2, clock=lambda: now[0])
    a, b, c = (("q", None, k.encode(), "id") for k in "abc")
    store.put(a, {"x": 1})
    store.put(b, {"x": 2})
    assert store.get(a) == {"x": 1}  # a is now the most recently used
    store.put(c, {"x": 3})
    assert store.get(b) is None and store.get(a) == {"x": 1} and store.get(c) == {"x": 3}
    now[0] = 10.0
    assert store.get(a) is None and store.get(c) is None
    store.put(a, {"x": 1})
    store.invalidate()
    assert store.get(a) is None and store.generation == 1
