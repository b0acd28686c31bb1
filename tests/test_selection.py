"""sigma_graphql/request/selection.py finds what Strawberry's `info.selected_fields` finds (names
through fragments and inline fragments, arguments with variables resolved and literals as
their text) without converting the whole selection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from sigma_graphql.request import selection
from sigma_graphql.request.selection import below, selected, selects

PATHS = [("nodes",), ("edges", "node"), ("nodes", "logs"), ("edges", "node", "logs"), ("total",)]
SEEN: dict[str, Any] = {}


def _strawberry_fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for s in selections:
        if isinstance(s, SelectedField):
            yield s
        elif isinstance(s, FragmentSpread | InlineFragment):
            yield from _strawberry_fields(s.selections)


def _strawberry_below(fields: list[SelectedField], *path: str) -> list[SelectedField]:
    level = fields
    for name in path:
        level = [f for p in level for f in _strawberry_fields(p.selections) if f.name == name]
    return level


@strawberry.type
class Item:
    id: int

    @strawberry.field
    def logs(self, tahun: int | None = None, first: int = 24, kota: list[str] | None = None) -> int:
        return 0


@strawberry.type
class Edge:
    node: Item


@strawberry.type
class Page:
    nodes: list[Item]
    edges: list[Edge]
    total: int


@strawberry.input
class Filter:
    kota: str | None = None


@strawberry.type
class Query:
    @strawberry.field
    def page(self, info: strawberry.Info, first: int = 2, filter: Filter | None = None) -> Page:
        root = list(_strawberry_fields(info.selected_fields))
        for path in PATHS:
            ours = selected(info, *path)
            theirs = _strawberry_below(root, *path)
            SEEN[".".join(path)] = (
                [(f.name, f.arguments) for f in ours],
                [(f.name, f.arguments) for f in theirs],
                selects(info, *path),
            )
        SEEN["below"] = [f.name for f in below(selected(info, "nodes"), "logs")]
        return Page(nodes=[], edges=[], total=0)


SCHEMA = strawberry.Schema(Query)

DOCUMENTS = {
    "plain": "{ page { nodes { id logs(tahun: 2025) } total } }",
    "fragments": """query($t: Int, $n: Int!) { page { ...P edges { node { ...I } } } }
        fragment P on Page { nodes { ...I l2: logs(tahun: $t, first: $n) } }
        fragment I on Item { id logs(first: 3, kota: ["Bogor", "Depok"]) }""",
    "inline fragments": """{ page { ... on Page { edges { ... on Edge { node {
        logs(tahun: 2024) } } } } } }""",
    "nothing below": "{ page { total } }",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
async def test_selected_fields_match_strawberrys(name: str) -> None:
    SEEN.clear()
    result = await SCHEMA.execute(DOCUMENTS[name], variable_values={"t": 2026, "n": 5})
    assert not result.errors, result.errors
    for path in PATHS:
        ours, theirs, said = SEEN[".".join(path)]
        assert ours == theirs, path
        assert said == bool(theirs)
    if name == "fragments":
        assert SEEN["nodes.logs"][0] == [
            ("logs", {"first": "3", "kota": ["Bogor", "Depok"]}),
            ("logs", {"tahun": 2026, "first": 5}),
        ]
        assert SEEN["below"] == ["logs", "logs"]


CACHED = strawberry.Schema(Query, extensions=[lambda: ParserCache(maxsize=8)])


async def test_a_parsed_document_is_walked_once_and_its_arguments_read_per_request() -> None:
    """With the parser's cache the same field nodes come back on every request: the walk is
    remembered (no new memo entry on the second request), the variables are not."""
    document = DOCUMENTS["fragments"]
    remembered: dict[Any, Any] = {}
    for t, n in ((2026, 5), (2020, 7)):
        SEEN.clear()
        result = await CACHED.execute(document, variable_values={"t": t, "n": n})
        assert not result.errors, result.errors
        assert SEEN["nodes.logs"][0] == SEEN["nodes.logs"][1]
        assert SEEN["nodes.logs"][0][1] == ("logs", {"tahun": t, "first": n})
        if not remembered:
            remembered = dict(selection._MEMO)
        else:  # the same entries, the very same objects, nothing added
            assert len(selection._MEMO) == len(remembered)
            assert all(selection._MEMO.get(k) is v for k, v in remembered.items())
