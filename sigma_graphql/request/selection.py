"""Which subfields a request selects below the current field (list resolvers skip unasked work).

Walks graphql-core's field nodes of the current field (fragments and inline fragments included)
by GraphQL field names, only as deep as the path asked for. Strawberry's `info.selected_fields`
gives the same answer but converts the whole selection below the field, arguments and
directives of every node, on each request (about 250 Python calls for the catalogue's
`umkms`); here nothing is converted that is not asked for. @skip/@include are not evaluated:
a field under such a directive counts as selected, so callers at worst do work that is not
needed, never miss work that is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
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


@dataclass(frozen=True, slots=True)
class Selected:
    """One selection of a field: its name, the fields selected below it and its arguments."""

    node: FieldNode
    info: GraphQLResolveInfo[Any]

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def selections(self) -> list[Selected]:
        found = self.node.selection_set
        return [] if found is None else list(_fields(found.selections, self.info))

    @property
    def arguments(self) -> dict[str, Any]:
        """As Strawberry's SelectedField gives them: variables by their coerced value, literals
        as their source text (lists and objects converted item by item)."""
        return {a.name.value: _value(a.value, self.info) for a in self.node.arguments or ()}


def _fields(
    selections: Iterable[SelectionNode], info: GraphQLResolveInfo[Any]
) -> Iterator[Selected]:
    for s in selections:
        if isinstance(s, FieldNode):
            yield Selected(s, info)
        elif isinstance(s, InlineFragmentNode):
            yield from _fields(s.selection_set.selections, info)
        elif isinstance(s, FragmentSpreadNode):
            fragment = info.fragments.get(s.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set.selections, info)


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
    return below([Selected(node, raw) for node in raw.field_nodes], *path)


def below(fields: list[Selected], *path: str) -> list[Selected]:
    """Every selection at `path` below the given selections."""
    level = fields
    for name in path:
        level = [f for parent in level for f in parent.selections if f.name == name]
        if not level:
            break
    return level


def selects(info: Info, *path: str) -> bool:
    """Whether the request asks for the subfield at `path`, e.g. selects(info, "totalCount")."""
    return bool(selected(info, *path))
