"""Schema-driven fuzzing (issue #11, "keep it fixed"): operations generated from the served
schema by hypothesis-graphql, sent over HTTP to a live server as PUBLIC, an owner and an ADMIN.

Queries and mutations; valid operations and operations with one schema violation
(hypothesis-graphql's NEGATIVE mode); arguments as literals or moved into variables; hostile
strings and numbers (oversized text, control characters, Mongo operators, int32 edges, real ids
of other accounts) swapped in. Every answer must hold: no 5xx, no INTERNAL_SERVER_ERROR, every
error with a code from the documented set and a request id, no request slower than
MAX_SECONDS (a generous bound the issue asks for, far above a normal answer).

The fuzz server has its own keyspace and Mongo database: generated mutations (sign-ups, UMKMs,
logins that fail) never touch what the other tests count. `make test` runs a bounded number of
examples with a fixed seed; `make test-slow` (marker `slow`) runs many more, random ones.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from db.drivers.handles import Databases
from db.drivers.mongo import create_client
from db.maintenance.migrations import migrate_all
from schema.build import build_schema
from sigma_graphql.core.errors import CODES
from sigma_graphql.core.settings import Settings
from tests.support import Factory, LiveServer, drop_keyspace

# hypothesis-graphql draws from `random` inside its strategies; Hypothesis warns about it.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
MAX_SECONDS = 5.0
# About 50 ms per example on the 2-core box: the fast run adds well under a minute.
FAST_EXAMPLES = int(os.environ.get("SIGMA_FUZZ_EXAMPLES", "150"))
SLOW_EXAMPLES = int(os.environ.get("SIGMA_FUZZ_SLOW_EXAMPLES", "1500"))
ROLES = ("PUBLIC", "UMKM_OWNER", "ADMIN")
# `logout` would end the session the rest of the run acts with.
MUTATION_FIELDS = [
    name
    for name in build_schema(Settings())._schema.mutation_type.fields  # type: ignore[union-attr]
    if name != "logout"
]
# Findings outside this change (issue #11, owned elsewhere), kept visible: an example failing
# only for one of these is reported, not hidden. Empty when every known failure is fixed.
KNOWN_ELSEWHERE: dict[str, str] = {}


@dataclass
class Fuzz:
    server: LiveServer
    tokens: dict[str, str | None]
    ids: list[str]  # real ids of other accounts and of UMKMs, swapped into arguments


@pytest.fixture(scope="module")
async def fuzz(migrated: Settings) -> AsyncIterator[Fuzz]:
    name = f"fz_{uuid.uuid4().hex[:8]}"
    unlimited = {role: 10**9 for role in (*ROLES, "PEJABAT")}
    fuzz_settings = migrated.with_overrides(
        mongo_db=name,
        cassandra_keyspace=name,
        # Budgets would answer RATE_LIMITED after a few costly examples and hide the rest.
        budget_burst=unlimited,
        budget_refill_per_s=unlimited,
    )
    await migrate_all(fuzz_settings)
    dbs = Databases.open(fuzz_settings)
    factory = Factory(dbs)
    owner = await factory.account("UMKM_OWNER")
    admin = await factory.account("ADMIN")
    other = await factory.account("UMKM_OWNER")
    official = await factory.account("PEJABAT")
    umkms = [
        await factory.umkm(owner),
        await factory.umkm(other),
        await factory.umkm(other, status="PENDING"),
        await factory.umkm(owner, status="REJECTED"),
    ]
    live = LiveServer(fuzz_settings).start()
    try:
        yield Fuzz(
            live,
            {"PUBLIC": None, "UMKM_OWNER": owner.token, "ADMIN": admin.token},
            [other.gid, official.gid, owner.gid, admin.gid, *(str(u["_id"]) for u in umkms)],
        )
    finally:
        live.stop()
        await dbs.close()
        await asyncio.get_running_loop().run_in_executor(None, drop_keyspace, fuzz_settings)
        client = create_client(fuzz_settings)
        try:
            await client.drop_database(name)
        finally:
            await client.close()


# ---------------------------------------------------------------- generation

HOSTILE_STRINGS = [
    "x" * 70_000,  # longer than a Cassandra key may be
    "s" * 5_000,
    "Warung\x00Nol",
    "\x1b[31mmerah\x1b[0m",
    "baris\nkedua",
    '{"$ne": null}',
    "$where",
    ".*",
    "(a+)+$",
    "' OR '1'='1",
    "9" * 5000,
    "2025-13",
    "\u202eRTL\u2028",
    "😀" * 50,
    "",
    " ",
]
HOSTILE_INTS = [-(2**31), 2**31 - 1, -1, 0, 1, 12, 13, 101, 1999, 2025, 99999]
HOSTILE_JSON: list[Any] = [
    {"$ne": None},
    {"$gt": ""},
    [1, 2],
    2**70,
    -(2**63),
    1.5,
    True,
    None,
    "x" * 70_000,
]
SCALARS = {
    "Rupiah": st.integers(-(2**63), 2**63).map(nodes.Int),
    # A JSON request cannot carry a file: whatever stands in its place must get a clear answer.
    "Upload": st.one_of(st.text(max_size=20).map(nodes.String), st.just(nodes.Null)),
}


def _type_node(type_: graphql.GraphQLInputType) -> graphql.TypeNode:
    return graphql.parse_type(str(type_))


def to_variables(
    schema: graphql.GraphQLSchema, document: graphql.DocumentNode
) -> tuple[graphql.DocumentNode, dict[str, Any]]:
    """Every argument written as a literal becomes a variable of the argument's type."""
    definitions: list[graphql.VariableDefinitionNode] = []
    values: dict[str, Any] = {}
    type_info = graphql.TypeInfo(schema)

    class Lift(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
            arg = type_info.get_argument()
            if arg is None or isinstance(node.value, graphql.VariableNode):
                return None
            name = f"v{len(definitions)}"
            variable = graphql.VariableNode(name=graphql.NameNode(value=name))
            definitions.append(
                graphql.VariableDefinitionNode(variable=variable, type=_type_node(arg.type))
            )
            values[name] = graphql.value_from_ast_untyped(node.value)
            return graphql.ArgumentNode(name=node.name, value=variable)

    lifted = graphql.visit(document, graphql.TypeInfoVisitor(type_info, Lift()))
    operations = []
    for definition in lifted.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            definition = graphql.OperationDefinitionNode(
                operation=definition.operation,
                name=definition.name,
                variable_definitions=tuple(definitions),
                directives=definition.directives,
                selection_set=definition.selection_set,
            )
        operations.append(definition)
    return graphql.DocumentNode(definitions=tuple(operations)), values


def swap_literals(
    document: graphql.DocumentNode,
    draw: Callable[[st.SearchStrategy[Any]], Any],
    strings: list[str],
    ints: list[int],
) -> graphql.DocumentNode:
    """Some string and int literals replaced by values drawn from `strings` and `ints`."""

    class Swap(graphql.Visitor):
        def enter_string_value(self, node: graphql.StringValueNode, *_: Any) -> Any:
            if strings and draw(st.booleans()):
                return graphql.StringValueNode(value=draw(st.sampled_from(strings)))
            return None

        def enter_int_value(self, node: graphql.IntValueNode, *_: Any) -> Any:
            if ints and draw(st.booleans()):
                return graphql.IntValueNode(value=str(draw(st.sampled_from(ints))))
            return None

    swapped: graphql.DocumentNode = graphql.visit(document, Swap())
    return swapped


PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "tahun": st.integers(2023, 2026),
    "bulan": st.integers(1, 12),
    "quarter": st.integers(1, 4),
    "first": st.integers(1, 30),
    "months": st.integers(1, 12),
    "precision": st.integers(3, 7),
    "jumlahKaryawan": st.integers(0, 50),
    "omzet": st.integers(0, 10**9),
    "sektor": st.sampled_from(["Kuliner", "Fashion", "kuliner"]),
    "kota": st.sampled_from(["Malang", "Surabaya"]),
    "provinsi": st.sampled_from(["Jawa Timur", "jawa timur"]),
    "search": st.sampled_from(["Usaha", "uji", "a"]),
    "radiusKm": st.floats(0.5, 50),
    "latitude": st.floats(-10.0, 5.0),
    "longitude": st.floats(96.0, 140.0),
}
ID_NAMES = frozenset({"id", "umkmId", "userId", "ownerId"})


def plausible(
    document: graphql.DocumentNode, draw: Callable[[st.SearchStrategy[Any]], Any], ids: list[str]
) -> graphql.DocumentNode:
    """Arguments and input fields with well-known names get values a client would send, ids
    the real ones, so resolvers get past "not found" and "out of range"."""

    def value(name: str, node: graphql.ValueNode) -> graphql.ValueNode | None:
        if isinstance(node, (graphql.VariableNode, graphql.NullValueNode)):
            return None
        if name in ID_NAMES:
            return graphql.StringValueNode(value=draw(st.sampled_from(ids)))
        if name == "after":  # the first page: a generated string is no cursor
            return graphql.NullValueNode()
        strategy = PLAUSIBLE.get(name)
        if strategy is None:
            return None
        found = draw(strategy)
        if isinstance(found, str):
            return graphql.StringValueNode(value=found)
        if isinstance(found, float):
            return graphql.FloatValueNode(value=repr(found))
        return graphql.IntValueNode(value=str(found))

    class Plausible(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
            new = value(node.name.value, node.value)
            return None if new is None else graphql.ArgumentNode(name=node.name, value=new)

        def enter_object_field(self, node: graphql.ObjectFieldNode, *_: Any) -> Any:
            new = value(node.name.value, node.value)
            return None if new is None else graphql.ObjectFieldNode(name=node.name, value=new)

    changed: graphql.DocumentNode = graphql.visit(document, Plausible())
    return changed


def swap_variables(
    values: dict[str, Any], draw: Callable[[st.SearchStrategy[Any]], Any], ids: list[str]
) -> dict[str, Any]:
    hostile = st.sampled_from([*HOSTILE_JSON, *HOSTILE_STRINGS, *ids])
    return {k: draw(hostile) if draw(st.booleans()) else v for k, v in values.items()}


def operations(kind: str, mode: Mode) -> st.SearchStrategy[graphql.DocumentNode]:
    schema = build_schema(Settings())._schema

    def keep(document: graphql.DocumentNode) -> graphql.DocumentNode:
        return document

    if kind == "query":
        return queries(schema, custom_scalars=SCALARS, print_ast=keep, mode=mode)
    return mutations(
        schema, fields=MUTATION_FIELDS, custom_scalars=SCALARS, print_ast=keep, mode=mode
    )


# ---------------------------------------------------------------- checking


def check_answer(response: httpx.Response, seconds: float, sent: str) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500], sent)
    assert seconds < MAX_SECONDS, (seconds, sent)
    body = response.json()
    assert isinstance(body, dict), body
    for error in body.get("errors") or []:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        assert code in CODES, (error, sent)
        assert extensions.get("requestId"), (error, sent)
        if code == "INTERNAL_SERVER_ERROR":
            known = next((k for k in KNOWN_ELSEWHERE if k in sent), None)
            assert known is not None, (error, sent)
    assert "password_hash" not in response.text and "Traceback" not in response.text


def run_example(fuzz: Fuzz, role: str, document: graphql.DocumentNode, data: st.DataObject) -> None:
    schema = build_schema_cached()
    # Mostly operations a client could mean (as generated, or with plausible values and real
    # ids, so resolvers run past "not found"), a third with hostile values swapped in.
    style = data.draw(st.sampled_from(["generated", "plausible", "hostile"]), label="style")
    hostile = style == "hostile"
    if style == "plausible":
        document = plausible(document, data.draw, fuzz.ids)
    elif hostile:
        document = swap_literals(document, data.draw, [*HOSTILE_STRINGS, *fuzz.ids], HOSTILE_INTS)
    variables: dict[str, Any] = {}
    if data.draw(st.booleans(), label="as variables"):
        document, variables = to_variables(schema, document)
        if hostile:
            variables = swap_variables(variables, data.draw, fuzz.ids)
    query = graphql.print_ast(document)
    headers = {"Accept-Language": data.draw(st.sampled_from(["id", "en"]), label="language")}
    token = fuzz.tokens[role]
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(base_url=fuzz.server.base, timeout=60) as http:
        started = time.monotonic()
        response = http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        seconds = time.monotonic() - started
    check_answer(response, seconds, query[:2000])


_SCHEMA: list[graphql.GraphQLSchema] = []


def build_schema_cached() -> graphql.GraphQLSchema:
    if not _SCHEMA:
        _SCHEMA.append(build_schema(Settings())._schema)
    return _SCHEMA[0]


def fuzz_test(examples: int, *, derandomize: bool) -> Callable[..., Any]:
    """The test body for one (role, kind), with a bound on examples."""

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(
        # Valid operations three times as often as ones with a schema violation.
        document=st.one_of(
            *[operations("query", Mode.POSITIVE)] * 3,
            *[operations("mutation", Mode.POSITIVE)] * 3,
            operations("query", Mode.NEGATIVE),
            operations("mutation", Mode.NEGATIVE),
        ),
        data=st.data(),
    )
    def body(fuzz: Fuzz, role: str, document: graphql.DocumentNode, data: st.DataObject) -> None:
        run_example(fuzz, role, document, data)

    return body


_fast = fuzz_test(FAST_EXAMPLES, derandomize=True)
_slow = fuzz_test(SLOW_EXAMPLES, derandomize=False)


@pytest.mark.parametrize("role", ROLES)
def test_generated_operations_get_clear_answers(fuzz: Fuzz, role: str) -> None:
    _fast(fuzz, role)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_many_generated_operations_get_clear_answers(fuzz: Fuzz, role: str) -> None:
    _slow(fuzz, role)
