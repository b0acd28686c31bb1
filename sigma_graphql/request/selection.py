"""Which subfields a request selects below the current field (list resolvers skip unasked work).

Walks graphql-core's field nodes of the current field (fragments and inline fragments included)
by GraphQL field names, only as deep as the path asked for. Strawberry's `info.selected_fields`
gives the same answer but converts the whole selection below the field, arguments and
directives of every node, on each request (about 250 Python calls for the catalogue's
`umkms`); here nothing is converted that is not asked for. @skip/@include are not evaluated:
a field under such a directive counts as selected, so callers at worst do work that is not
needed, never miss work that is.

The field nodes found at a path depend only on the document, so they are remembered per
(path, field nodes of the current field) for the documents in use: a list resolver asking
`selects(info, "totalCount")` on each request walks its selection once per document. The
memo holds the nodes it is keyed by (their ids cannot be reused while it does) and is emptied
when it grows past MEMO_SIZE entries. Arguments are read per request (they hold variables).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionNode,
    ValueNode,
    VariableNode,
)
from strawberry.types import Info

MEMO_SIZE = 4096
# (path, id of each field node) -> (those field nodes, the field nodes at the path)
_MEMO: dict[tuple[Any, ...], tuple[tuple[FieldNode, ...], tuple[FieldNode, ...]]] = {}


@dataclass(frozen=True, slots=True)
class Selected:
    """One selection of a field: its name and its arguments (what is below it: `below`)."""

    node: FieldNode
    info: GraphQLResolveInfo[Any]

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def arguments(self) -> dict[str, Any]:
        """As Strawberry's SelectedField gives them: variables by their coerced value, literals
        as their source text (lists and objects converted item by item)."""
        return {a.name.value: _value(a.value, self.info) for a in self.node.arguments or ()}


def _fields(
    selections: Iterable[SelectionNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for s in selections:
        if isinstance(s, FieldNode):
            yield s
        elif isinstance(s, InlineFragmentNode):
            yield from _fields(s.selection_set.selections, fragments)
        elif isinstance(s, FragmentSpreadNode):
            fragment = fragments.get(s.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set.selections, fragments)


def _nodes_at(
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    path: tuple[str, ...],
) -> tuple[FieldNode, ...]:
    """The field nodes at `path` below `nodes` (remembered, see the module docstring)."""
    key = (path, *map(id, nodes))
    hit = _MEMO.get(key)
    if hit is not None:
        return hit[1]
    keyed = level = tuple(nodes)
    for name in path:
        level = tuple(
            f
            for parent in level
            if parent.selection_set is not None
            for f in _fields(parent.selection_set.selections, fragments)
            if f.name.value == name
        )
        if not level:
            break
    if len(_MEMO) >= MEMO_SIZE:
        _MEMO.clear()
    _MEMO[key] = (keyed, level)
    return level


def _value(node: ValueNode, info: GraphQLResolveInfo[Any]) -> Any:
    if isinstance(node, VariableNode):
        variables: Any = info.variable_values
        return getattr(variables, "coerced", variables).get(node.name.value)
    if isinstance(node, ListValueNode):
        return [_value(v, info) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _value(f.value, info) for f in node.fields}
    return getattr(node, "value", None)


def selected(info: Info, *path: str) -> list[Selected]:
    """Every selection of the subfield at `path` (GraphQL names) below the current field."""
    raw: GraphQLResolveInfo[Any] = info._raw_info
    return [Selected(n, raw) for n in _nodes_at(raw.field_nodes, raw.fragments, path)]


def below(fields: list[Selected], *path: str) -> list[Selected]:
    """Every selection at `path` below the given selections (all of one request)."""
    if not fields:
        return []
    raw = fields[0].info
    nodes = [f.node for f in fields]
    return [Selected(n, raw) for n in _nodes_at(nodes, raw.fragments, path)]


def selects(info: Info, *path: str) -> bool:
    """Whether the request asks for the subfield at `path`, e.g. selects(info, "totalCount")."""
    raw: GraphQLResolveInfo[Any] = info._raw_info
    return bool(_nodes_at(raw.field_nodes, raw.fragments, path))
