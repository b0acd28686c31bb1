"""Static query cost (QUERY_TOO_COMPLEX) and the per-identity budget (RATE_LIMITED).

Budget tests spend points with an introspection field (flat INTROSPECTION_COST, served without
any domain resolver) so they do not depend on other features; the limits are small settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from graphql import parse

from schema.build import build_schema
from sigma_graphql.core.settings import Settings
from sigma_graphql.limits.budget import BudgetStore, Decision
from sigma_graphql.limits.cost import (
    EXPENSIVE,
    FIELD_COSTS,
    INTROSPECTION_COST,
    LIST_FACTOR,
    MAX_REPEATS,
    MUTATION_COST,
    CostCache,
    compute_cost,
    expensive_repeats,
)
from tests.support import Api, Factory, LiveServer

SCHEMA = build_schema(Settings())._schema

SPEND = '{ __type(name: "UMKM") { name } }'  # costs INTROSPECTION_COST

NESTED = """
query Nested($n: Int!) {
  umkms(first: $n) { nodes { id financialLogs(first: 24) { nodes { omzet } } } }
}
"""


def cost_of(query: str, variables: dict[str, Any] | None = None) -> int:
    return compute_cost(SCHEMA, parse(query), None, variables)[0]


def test_nested_connections_multiply() -> None:
    # umkms: 1 + nodes 100 x (1 + financialLogs(1 + nodes 24 x 1))
    assert cost_of(NESTED, {"n": 100}) == 1 + 100 * (1 + 1 + 24)
    assert cost_of(NESTED, {"n": 1}) == 1 + 1 * (1 + 1 + 24)
    # Defaults from the contract: umkms first 20, financialLogs first 24; edges count like nodes
    # (plus one per edge object).
    defaults = "{ umkms { edges { node { financialLogs { nodes { tahun } } } } } }"
    assert cost_of(defaults) == 1 + 20 * (1 + 1 + (1 + 24 * 1))
    # A variable's default value counts when the variable is not given.
    with_default = "query($n: Int = 7) { umkms(first: $n) { nodes { id } } }"
    assert cost_of(with_default) == 1 + 7
    assert cost_of(with_default, {"n": 3}) == 1 + 3
    # Leaves are free; objects cost 1; a list without `first` counts LIST_FACTOR items.
    assert cost_of("{ today }") == 0
    assert cost_of("{ publicStats { verifiedUmkm } }") == 1 + FIELD_COSTS["Query.publicStats"]
    assert cost_of("{ sectorStats(tahun: 2025) { sektor months { bulan } } }") == LIST_FACTOR * (
        1 + 12
    )
    assert cost_of("{ regionStats(tahun: 2025) { kota } }") == 100
    # Fragments count where they are spread.
    fragments = """
    query { ...Q }
    fragment Q on Query { umkms(first: 3) { nodes { ...U } } }
    fragment U on UMKM { id owner { nama } }
    """
    assert cost_of(fragments) == 1 + 3 * (1 + 1)


def test_fields_are_priced_by_their_measured_work() -> None:
    """FIELD_COSTS (bench/field_costs.py) is added once per field, wherever it appears."""
    anomalies = "{ suspiciousFinancialLogs(tahun: 2025) { score } }"
    assert cost_of(anomalies) == FIELD_COSTS["Query.suspiciousFinancialLogs"] + 50
    # Before pricing by work: 50 points for about a second of CPU on 2,000 UMKMs.
    assert cost_of(anomalies) >= 10_000
    forecasts = "{ umkms(first: 10) { nodes { forecast { method } } } }"
    assert cost_of(forecasts) == 1 + 10 * (1 + 1 + FIELD_COSTS["UMKM.forecast"])
    assert all(
        FIELD_COSTS[f] >= EXPENSIVE for f in ("Query.suspiciousFinancialLogs", "Query.topGrowers")
    )


def test_expensive_root_fields_repeat_at_most_max_repeats_times() -> None:
    def repeats(query: str) -> tuple[str, int] | None:
        return expensive_repeats(SCHEMA, parse(query))

    field = "suspiciousFinancialLogs(tahun: 2025) { score }"
    assert MAX_REPEATS == 2
    assert repeats(f"{{ a: {field} b: {field} }}") is None
    assert repeats(f"{{ a: {field} b: {field} c: {field} }}") == ("suspiciousFinancialLogs", 3)
    # Through fragments and inline fragments; response keys, not spreads, count (the executor
    # merges one key's fields into one call).
    through_fragments = f"""
    {{ ...A ...A ... on Query {{ c: {field} }} ...B }}
    fragment A on Query {{ a: {field} b: {field} }}
    fragment B on Query {{ ...A d: {field} }}
    """
    assert repeats(through_fragments) == ("suspiciousFinancialLogs", 4)
    assert repeats(f"{{ ...A ...A ...A }} fragment A on Query {{ a: {field} }}") is None
    # Cheap fields repeat freely (the cost still counts each).
    assert (
        repeats(
            "{ a: sectorStats(tahun: 2024) { sektor } b: sectorStats(tahun: 2025) "
            "{ sektor } c: sectorStats(tahun: 2023) { sektor } }"
        )
        is None
    )


async def test_aliased_expensive_analytics_are_refused(api: Api, factory: Factory) -> None:
    pejabat = await factory.account("PEJABAT")
    staff = api.as_(pejabat.token)
    field = "suspiciousFinancialLogs(tahun: 2025) { score }"
    many = "{ " + " ".join(f"a{i}: {field}" for i in range(29)) + " }"
    refused = await staff(many)
    assert refused.error_codes == ["QUERY_TOO_COMPLEX"], refused.errors
    assert refused.data is None
    ext = refused.errors[0]["extensions"]
    assert (ext["field"], ext["count"], ext["maxRepeats"]) == ("suspiciousFinancialLogs", 29, 2)
    assert "suspiciousFinancialLogs" in refused.errors[0]["message"]
    english = await staff(many, headers={"Accept-Language": "en"})
    assert "at most 2 per operation" in english.errors[0]["message"]
    # Nothing was spent on the refused operation.
    assert refused.extensions["cost"]["remaining"] == Settings().budget_burst["PEJABAT"]
    two = await staff(f"{{ a: {field} b: {field} }}")
    assert two.ok() == {"a": two.data["a"], "b": two.data["b"]}
    assert two.extensions["cost"]["requested"] == 2 * (
        FIELD_COSTS["Query.suspiciousFinancialLogs"] + 50
    )


def test_mutations_cost_more() -> None:
    submit = """
    mutation($i: SubmitFinancialLogInput!) {
      submitFinancialLog(input: $i) { log { omzet } userErrors { field message code } }
    }
    """
    assert cost_of(submit) == MUTATION_COST + 1 + LIST_FACTOR
    assert cost_of("mutation { logout { ok } }") == MUTATION_COST


async def test_too_complex_is_rejected_with_its_cost(
    server_factory: Callable[..., LiveServer],
) -> None:
    api = Api(server_factory(max_cost=500))
    big = await api(NESTED, {"n": 100})
    assert big.error_codes == ["QUERY_TOO_COMPLEX"], big.errors
    assert big.data is None
    assert big.errors[0]["extensions"]["cost"] == 2601
    assert big.errors[0]["extensions"]["maxCost"] == 500
    assert big.extensions["cost"]["requested"] == 2601
    # Nothing was spent on a refused operation.
    assert big.extensions["cost"]["remaining"] == Settings().budget_burst["PUBLIC"]

    small = await api(NESTED, {"n": 1})
    assert "QUERY_TOO_COMPLEX" not in small.error_codes
    assert small.extensions["cost"]["requested"] == 27

    english = await api(NESTED, {"n": 100}, headers={"Accept-Language": "en"})
    assert "Query too complex" in english.errors[0]["message"]


async def test_budget_exhaustion_then_refill(server_factory: Callable[..., LiveServer]) -> None:
    live = server_factory(
        budget_burst={"PUBLIC": 120, "UMKM_OWNER": 120, "PEJABAT": 120, "ADMIN": 120},
        budget_refill_per_s={"PUBLIC": 25.0, "UMKM_OWNER": 25.0, "PEJABAT": 25.0, "ADMIN": 25.0},
    )
    api = Api(live)
    first = await api(SPEND)
    assert first.ok() == {"__type": {"name": "UMKM"}}
    assert first.extensions["cost"]["requested"] == INTROSPECTION_COST
    assert 70 <= first.extensions["cost"]["remaining"] <= 71
    await api(SPEND)
    refused = await api(SPEND)
    assert refused.error_codes == ["RATE_LIMITED"], refused.errors
    assert refused.data is None
    retry_after = refused.errors[0]["extensions"]["retryAfter"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 2
    assert refused.extensions["cost"]["requested"] == INTROSPECTION_COST
    assert refused.extensions["cost"]["remaining"] < INTROSPECTION_COST

    async with api.http() as http:
        raw = await http.post("/graphql", json={"query": SPEND})
    assert raw.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= int(raw.headers["Retry-After"]) <= 2

    await asyncio.sleep(retry_after)
    again = await api(SPEND)
    assert again.ok() == {"__type": {"name": "UMKM"}}


async def test_budget_is_per_identity_and_per_role(
    server_factory: Callable[..., LiveServer], factory: Factory
) -> None:
    live = server_factory(
        budget_burst={"PUBLIC": 100, "UMKM_OWNER": 1000, "PEJABAT": 2000, "ADMIN": 4000},
        budget_refill_per_s={"PUBLIC": 1.0, "UMKM_OWNER": 1.0, "PEJABAT": 1.0, "ADMIN": 1.0},
        max_cost=5000,
    )
    api = Api(live)
    owner = await factory.account("UMKM_OWNER")
    other_owner = await factory.account("UMKM_OWNER")
    pejabat = await factory.account("PEJABAT")

    await api(SPEND)
    await api(SPEND)
    public_refused = await api(SPEND)
    assert public_refused.error_codes == ["RATE_LIMITED"]

    # The anonymous client's empty bucket does not affect signed-in users, whose buckets are
    # sized by role.
    as_owner = await api.as_(owner.token)(SPEND)
    assert as_owner.ok()
    assert as_owner.extensions["cost"]["remaining"] in (950, 951)
    as_pejabat = await api.as_(pejabat.token)(SPEND)
    assert as_pejabat.extensions["cost"]["remaining"] in (1950, 1951)

    # A query costing more than the role's whole bucket is too complex for that role.
    expensive = await api.as_(owner.token)(NESTED, {"n": 60})  # 1 + 60 * 26 = 1561
    assert expensive.error_codes == ["QUERY_TOO_COMPLEX"]
    assert expensive.errors[0]["extensions"]["maxCost"] == 1000
    staff = await api.as_(pejabat.token)(NESTED, {"n": 60})
    assert "QUERY_TOO_COMPLEX" not in staff.error_codes

    # Owners have one bucket each.
    for _ in range(19):
        await api.as_(owner.token)(SPEND)
    owner_refused = await api.as_(owner.token)(SPEND)
    assert owner_refused.error_codes == ["RATE_LIMITED"]
    other = await api.as_(other_owner.token)(SPEND)
    assert other.ok()


async def test_every_response_reports_its_cost(api: Api) -> None:
    plain = await api("{ today }")
    assert plain.extensions["cost"]["requested"] == 0
    assert 0 < plain.extensions["cost"]["remaining"] <= Settings().budget_burst["PUBLIC"]
    spent = await api(SPEND)
    assert spent.extensions["cost"]["requested"] == INTROSPECTION_COST
    invalid = await api("{ noSuchField }")
    assert invalid.error_codes == ["BAD_USER_INPUT"]
    assert invalid.extensions["cost"]["requested"] == 0
    assert invalid.extensions["cost"]["remaining"] > 0


def test_cost_cache_keys_on_the_variables_that_matter() -> None:
    cache = CostCache(size=4)
    doc = parse(NESTED)
    assert cache.cost(SCHEMA, NESTED, doc, None, {"n": 100}) == 2601
    assert cache.cost(SCHEMA, NESTED, doc, None, {"n": 100, "other": 1}) == 2601
    assert cache.cost(SCHEMA, NESTED, doc, None, {"n": 2}) == 1 + 2 * 26
    for n in range(3, 10):  # bounded: old entries are evicted, results stay right
        assert cache.cost(SCHEMA, NESTED, doc, None, {"n": n}) == 1 + n * 26


def test_token_bucket_refill_and_retry_after() -> None:
    now = [0.0]
    store = BudgetStore({"PUBLIC": 10.0}, {"PUBLIC": 100}, clock=lambda: now[0])
    assert store.spend("PUBLIC", "a", 80) == Decision(True, 20)
    refused = store.spend("PUBLIC", "a", 50)
    assert refused == Decision(False, 20, 3)  # 30 missing at 10 per second
    assert store.spend("PUBLIC", "b", 50).allowed  # another identity, another bucket
    now[0] = 3.0
    assert store.available("PUBLIC", "a") == 50
    assert store.spend("PUBLIC", "a", 50) == Decision(True, 0)
    now[0] = 1000.0
    assert store.available("PUBLIC", "a") == 100  # never above the burst
