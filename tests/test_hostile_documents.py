"""Hostile documents are refused cheaply (issue 11, finding 1): the fragment bomb, and the limits
counted with fragments spread as before (depth, aliases, cost), each fragment measured once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor
from strawberry.extensions.max_aliases import count_fields_with_alias
from strawberry.extensions.query_depth_limiter import determine_depth

from schema.build import build_schema
from sigma_graphql.core.settings import Settings
from sigma_graphql.limits.cost import FIELD_COSTS, compute_cost
from sigma_graphql.limits.document_limits import DocumentShapes
from tests.support import Api, LiveServer

SCHEMA = build_schema(Settings())._schema


def bomb(
    levels: int, base: str = "Query", leaf: str = "publicStats { verifiedUmkm }", name: str = "B"
) -> str:
    """Fragments that each spread the previous one twice: 2**levels copies of `leaf`."""
    parts = [f"fragment F0 on {base} {{ {leaf} }}"]
    parts += [
        f"fragment F{i} on {base} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    top = f"...F{levels}" if base == "Query" else f"umkms(first: 1) {{ ...F{levels} }}"
    return f"query {name} {{ {top} }}\n" + "\n".join(parts)


class _CallCounter:
    """The app behind the test server, counting the Python calls its thread makes while it
    answers an HTTP request: the work of a request, whatever the machine's speed. Past `cap`
    calls the request is cut short, so a regression (2**levels walks) fails at once instead of
    holding the suite for hours."""

    def __init__(self, app: Any, cap: int) -> None:
        self.app = app
        self.cap = cap
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def count(_frame: Any, event: str, _arg: Any) -> None:
            if event == "call":
                self.calls += 1
                if self.calls > self.cap:
                    sys.setprofile(None)
                    raise RuntimeError(f"more than {self.cap} calls for one request")

        self.calls = 0
        sys.setprofile(count)
        try:
            await self.app(scope, receive, send)
        finally:
            sys.setprofile(None)


@pytest.fixture(scope="module")
def counted(migrated: Settings) -> Iterator[tuple[LiveServer, _CallCounter]]:
    live = LiveServer(migrated)
    counter = _CallCounter(live.app, cap=2_000_000)
    live.server.config.app = counter  # uvicorn loads the app when the thread starts
    live.start()
    yield live, counter
    live.stop()


async def _calls(api: Api, counter: _CallCounter, document: str) -> tuple[int, Any]:
    answer = await api(document)
    return counter.calls, answer


@pytest.mark.parametrize("base", ["Query", "UMKMConnection"])
async def test_a_fragment_bomb_costs_the_work_of_its_text_not_of_its_expansion(
    counted: tuple[LiveServer, _CallCounter], base: str
) -> None:
    # Unfixed, the limits walked every spread: 2**levels walks, seconds of CPU per bomb and
    # everything else on the process waiting. Refusing one must cost work linear in the
    # document's text (parsing and validating it): 30 levels (12 more fragments, 4096 times the
    # copies) about what 18 levels cost. Measured: about 15,000 and 22,000 calls.
    live, counter = counted
    api = Api(live)
    leaf = "publicStats { verifiedUmkm }" if base == "Query" else "totalCount"
    work: dict[int, int] = {}
    for levels in (18, 30):
        # A new text each time: nothing comes from the parse or validation caches.
        calls, refused = await _calls(api, counter, bomb(levels, base, leaf, f"B{levels}{base}"))
        assert refused.error_codes == ["QUERY_TOO_COMPLEX"], refused.errors
        assert refused.data is None
        work[levels] = calls
    assert work[30] < 2 * work[18], work


async def test_bombs_inside_a_field_and_of_leaves_are_refused(api: Api) -> None:
    """Strawberry's info.selected_fields spreads fragments without memo, so a bomb under a
    connection (cost 1, depth 2) must be refused before any resolver runs; so must a bomb of
    leaves (cost 0)."""
    for document in (
        bomb(25, base="UMKMConnection", leaf="totalCount"),
        bomb(25, leaf="today"),
    ):
        refused = await api(document)
        assert refused.error_codes == ["QUERY_TOO_COMPLEX"], refused.errors
        assert "fragments are spread" in refused.errors[0]["message"]


async def test_fragment_reuse_within_the_limits_still_runs(api: Api) -> None:
    # 2**5 = 32 copies of two fields: well inside the field limit, merged by the executor.
    answer = await api(bomb(5))
    assert answer.ok() == {
        "publicStats": {"verifiedUmkm": answer.data["publicStats"]["verifiedUmkm"]}
    }
    assert answer.extensions["cost"]["requested"] == 32 * (1 + FIELD_COSTS["Query.publicStats"])


# ---------------------------------------------------------------- same numbers as before

ORDINARY = [
    """
    query { ...Q }
    fragment Q on Query { umkms(first: 3) { nodes { ...U } } }
    fragment U on UMKM { id owner { nama } }
    """,
    """
    query Lists($n: Int = 7) {
      a: umkms(first: $n) { ...Conn }
      b: umkms(first: 2) { ...Conn totalCount }
      me { ... on User { id umkms { ...Conn } } }
    }
    fragment Conn on UMKMConnection {
      nodes { ...U }
      edges { cursor node { ...U namaUsaha } }
    }
    fragment U on UMKM {
      id
      alias1: namaUsaha
      wilayah { kota }
      financialLogs(first: 3) { nodes { ...L } }
    }
    fragment L on FinancialLog { omzet tahun bulan }
    """,
    """
    query Stats {
      ...Analytics
      x: sectorStats(tahun: 2025) { ...Sector }
    }
    fragment Analytics on Query {
      sectorStats(tahun: 2024) { ...Sector }
      regionStats(tahun: 2024) { kota months { bulan } }
      publicStats { verifiedUmkm }
    }
    fragment Sector on SectorStats { sektor months { ...Month } }
    fragment Month on MonthlyStat { bulan totalOmzet }
    """,
    """
    mutation Out { ...M }
    fragment M on Mutation { logout { ...Ok } first: logout { ok } }
    fragment Ok on OkPayload { ok }
    """,
]


def _inlined(document: DocumentNode) -> DocumentNode:
    """The document with every spread written out as an inline fragment (the expansion the
    limits used to walk)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    class Inline(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> InlineFragmentNode:
            fragment = fragments[node.name.value]
            return InlineFragmentNode(
                type_condition=fragment.type_condition,
                directives=(),
                selection_set=fragment.selection_set,
            )

    inlined = visit(document, Inline())
    operations = tuple(d for d in inlined.definitions if isinstance(d, OperationDefinitionNode))
    return parse(print_ast(DocumentNode(definitions=operations)))


@pytest.mark.parametrize("text", ORDINARY)
def test_memoised_cost_equals_the_expanded_cost(text: str) -> None:
    document = parse(text)
    expanded = _inlined(document)
    assert not any(isinstance(d, FragmentDefinitionNode) for d in expanded.definitions)
    for variables in ({}, {"n": 50}):
        assert compute_cost(SCHEMA, document, None, variables) == compute_cost(
            SCHEMA, expanded, None, variables
        )


@pytest.mark.parametrize("text", ORDINARY)
def test_memoised_depth_and_aliases_equal_strawberrys(text: str) -> None:
    """The limiter that replaced Strawberry's counts what Strawberry's counted."""
    document = parse(text)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    shapes = DocumentShapes(document)
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        shape = shapes.of_operation(op)
        assert shape.aliases == count_fields_with_alias(op, fragments)
        assert shape.depth == determine_depth(
            node=op,
            fragments=fragments,
            depth_so_far=0,
            max_depth=1000,
            context=None,  # type: ignore[arg-type]  # only used to report an excess
            operation_name="op",
            should_ignore=None,
        )
        alone = DocumentNode(definitions=(op, *fragments.values()))
        assert shape.fields == _field_count(_inlined(alone))


def _field_count(document: DocumentNode) -> int:
    count = 0

    class Count(Visitor):
        def enter_field(self, *_: Any) -> None:
            nonlocal count
            count += 1

    visit(document, Count())
    return count


async def test_limits_count_fragments_where_they_are_spread(
    server_factory: Any,
) -> None:
    api = Api(server_factory(max_depth=4, max_aliases=3))
    deep = await api(
        "{ me { ...Deep } } fragment Deep on User "
        "{ umkms { nodes { owner { umkms { nodes { id } } } } } }"
    )
    assert deep.error_codes == ["QUERY_TOO_COMPLEX"], deep.errors
    assert "depth" in deep.errors[0]["message"]
    aliases = await api(
        "{ ...A ...B } fragment A on Query { a: today b: today } fragment B on Query { ...A }"
    )
    assert aliases.error_codes == ["QUERY_TOO_COMPLEX"], aliases.errors
    assert aliases.errors[0]["message"] == "4 aliases found. Allowed: 3"
