"""Which subfields a request selects below the current field (list resolvers skip unasked work).

Walks Strawberry's `info.selected_fields` (fragments and inline fragments included) by GraphQL
field names. @skip/@include are not evaluated: a field under such a directive counts as
selected, so callers at worst do work that is not needed, never miss work that is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for s in selections:
        if isinstance(s, SelectedField):
            yield s
        elif isinstance(s, FragmentSpread | InlineFragment):
            yield from _fields(s.selections)


def selected(info: Info, *path: str) -> list[SelectedField]:
    """Every selection of the subfield at `path` (GraphQL names) below the current field."""
    return below(list(_fields(info.selected_fields)), *path)


def below(fields: list[SelectedField], *path: str) -> list[SelectedField]:
    """Every selection at `path` below the given selections."""
    level = fields
    for name in path:
        level = [f for parent in level for f in _fields(parent.selections) if f.name == name]
        if not level:
            break
    return level


def selects(info: Info, *path: str) -> bool:
    """Whether the request asks for the subfield at `path`, e.g. selects(info, "totalCount")."""
    return bool(selected(info, *path))
