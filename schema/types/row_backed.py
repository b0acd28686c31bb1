"""Fields read from a database row when they are asked for, not when the object is built.

A GraphQL object built from a row usually has many fields and a document selects few of them:
the staff audit list reads `bulan`, `omzet` and `isFlagged` of each log, and converting the
other eleven (two datetimes among them) cost more than answering. A row-backed class is a plain
subclass of the Strawberry type whose fields are `RowField` descriptors: making one stores the
row (a Cassandra row, a MongoDB document), and each field converts its column when it is read,
every time (no cache: a plan reads each field once). Graphql-core's default resolver and the
inline plans of `sigma_graphql/execution/fast_execution.py` both read attributes, so neither
sees a difference, and the object is still an instance of the type. (The inline plans skip
the descriptor for an object of exactly the row-backed class: `row_columns` tells them what
each field reads.)

The fields are read-only: a row-backed object is a view of its row, which nobody changes once
it is read from the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar, overload

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


class HasRow(Protocol):
    row: dict[str, Any]


# The conversions a RowField may name instead of a read function: Python expressions over the
# row (`{row}`) and the field's key (`{key}`). The descriptor reads through a function made from
# the expression, and the inline plans (sigma_graphql/execution/plan_compiler.py) write the same
# expression into their code, so a page of logs converts a column without a Python call.
# Fixed here, never built from data.
EXPRESSIONS = {
    "optional": "{row}.get({key})",  # None when the row does not have it
    "text": "str({row}[{key}])",  # an id the driver gives as a UUID
    "flag": "bool({row}.get({key}))",  # a boolean stored as null when false
    "whole": "int({row}[{key}] or 0)",  # a whole number stored as null when 0
    "count": "int({row}.get({key}) or 0)",  # the same, and 0 when the row does not have it
    "member": "{table}[{row}[{key}]]",  # an enum member by its stored value (RowField.member)
    "latitude": "{row}[{key}][1]",  # of a GeoJSON point's coordinates [longitude, latitude]
    "longitude": "{row}[{key}][0]",
}


class _Members(dict[Any, Any]):
    """An enum's members by value; a value that is none of them goes to the enum itself,
    which refuses it (ValueError), as calling the enum always did."""

    def __init__(self, enum: type[Enum]) -> None:
        super().__init__((m.value, m) for m in enum)
        self.enum = enum

    def __missing__(self, value: Any) -> Any:
        return self.enum(value)


def _reader(expression: str, key: str, table: Any) -> Callable[[Any], Any]:
    code = "lambda obj: " + expression.format(row="obj.row", key="KEY", table="TABLE")
    made: Callable[[Any], Any] = eval(code, {"KEY": key, "TABLE": table})  # EXPRESSIONS only
    return made


@dataclass(frozen=True, slots=True)
class Nested:
    """A field whose value is a row-backed object of `cls` over the sub-row `key` of its
    parent's row (RowField.nested_row): built as `cls(sub_row, parent)`, or None for an
    `optional` field whose row has no (or an empty) sub-row; with `many`, a list of them, one
    per row of the list `key` (RowField.nested_rows). `read` is what the descriptor runs."""

    cls: type
    key: str
    optional: bool
    read: Callable[[Any], Any]
    many: bool = False


class RowField(Generic[T]):
    """A field that is the row's `key` as stored, one of the EXPRESSIONS over the row's `key`,
    or `read(obj)` when it needs more than the row (`obj` is the row-backed object: its row,
    and whatever else its class keeps, such as what the viewer may see)."""

    __slots__ = ("expression", "key", "name", "nested", "read", "table")

    def __init__(
        self,
        key: str = "",
        *,
        read: Callable[[Any], T] | None = None,
        expression: str = "",
        table: Any = None,
        nested: Nested | None = None,
    ) -> None:
        if bool(key) == (read is not None):
            raise TypeError("a RowField is either a row key or a read function")
        if expression:
            read = _reader(EXPRESSIONS[expression], key, table)
        self.key = key
        self.read = read
        self.expression = expression
        self.table = table  # what an expression's `{table}` names (RowField.member's members)
        self.nested = nested
        self.name = key

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @classmethod
    def optional(cls, key: str) -> RowField[Any]:
        """The row's `key`, None when the row does not have it."""
        return RowField(key, expression="optional")

    @classmethod
    def text(cls, key: str) -> RowField[Any]:
        """The row's `key` as text (an id the driver gives as a UUID)."""
        return RowField(key, expression="text")

    @classmethod
    def flag(cls, key: str) -> RowField[bool]:
        """The row's `key` as a boolean (null and a missing column are false)."""
        return RowField(key, expression="flag")

    @classmethod
    def whole(cls, key: str, *, optional: bool = False) -> RowField[Any]:
        """The row's `key` as an int, null as 0 (and a missing column too when `optional`)."""
        return RowField(key, expression="count" if optional else "whole")

    @classmethod
    def member(cls, enum: type[E], key: str) -> RowField[E]:
        """The row's `key` as the member of `enum` with that value, found in a dictionary
        (calling the enum costs two Python calls per row); anything else goes to the enum,
        which refuses it as before."""
        return RowField(key, expression="member", table=_Members(enum))

    @classmethod
    def nested_row(
        cls, view: Callable[[Any, Any], Any], key: str, *, optional: bool = False
    ) -> RowField[Any]:
        """A row-backed object `view(sub_row, parent)` over the row's sub-row `key` (a
        sub-document), None when `optional` and the row has none: the inline plans then read
        the nested object's selected fields from the sub-row without building it."""
        if optional:

            def read(obj: HasRow) -> Any:
                sub = obj.row.get(key)
                return view(sub, obj) if sub else None

        else:

            def read(obj: HasRow) -> Any:
                return view(obj.row[key], obj)

        assert isinstance(view, type)
        return RowField(read=read, nested=Nested(view, key, optional, read))

    @classmethod
    def nested_rows(
        cls, view: type, key: str, build: Callable[[list[Any]], list[Any]]
    ) -> RowField[Any]:
        """A list of row-backed objects of class `view`, `build(rows)` over the row's list of
        rows `key`: the inline plans then complete the list from the rows without building the
        objects."""

        def read(obj: HasRow) -> Any:
            return build(obj.row[key])

        return RowField(read=read, nested=Nested(view, key, False, read, many=True))

    @overload
    def __get__(self, obj: None, owner: type) -> RowField[T]: ...

    @overload
    def __get__(self, obj: HasRow, owner: type) -> T: ...

    def __get__(self, obj: HasRow | None, owner: type) -> RowField[T] | T:
        if obj is None:
            return self
        if self.read is None:
            value: T = obj.row[self.key]
            return value
        return self.read(obj)

    def __set__(self, obj: HasRow, value: T) -> None:
        raise AttributeError(f"{type(obj).__name__}.{self.name} is read from its row")


Column = str | tuple[str, str, Any] | Nested | Callable[[Any], Any]


def row_columns(cls: type) -> dict[str, Column]:
    """What each RowField of `cls` reads, for the inline plans of
    sigma_graphql/execution/plan_compiler.py (which then skip the descriptor): its row key, its
    (EXPRESSIONS entry, key, table), its sub-row (Nested) or its read function."""
    found: dict[str, Column] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, RowField):
                found[name] = (
                    value.nested
                    if value.nested is not None
                    else value.key
                    if value.read is None
                    else (EXPRESSIONS[value.expression], value.key, value.table)
                    if value.expression
                    else value.read
                )
            elif name in found:  # overridden below by something that is not a RowField
                del found[name]
    return found


def row_backed_subclass(cls: type) -> type | None:
    """The one row-backed subclass of the Strawberry type `cls` (RowLog of FinancialLog, ...),
    None when it has none or several."""
    subclasses: list[type] = cls.__subclasses__()
    found = [sub for sub in subclasses if row_columns(sub)]
    return found[0] if len(found) == 1 else None
