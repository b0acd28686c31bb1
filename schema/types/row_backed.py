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
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar, overload

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


class HasRow(Protocol):
    row: dict[str, Any]


class RowField(Generic[T]):
    """A field that is the row's `key` as stored, or `read(obj)` when it needs a conversion or
    more than the row (`obj` is the row-backed object: its row, and whatever else its class
    keeps, such as what the viewer may see)."""

    __slots__ = ("key", "name", "read")

    def __init__(self, key: str = "", *, read: Callable[[Any], T] | None = None) -> None:
        if bool(key) == (read is not None):
            raise TypeError("a RowField is either a row key or a read function")
        self.key = key
        self.read = read
        self.name = key

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @classmethod
    def optional(cls, key: str) -> RowField[Any]:
        """The row's `key`, None when the row does not have it."""
        return RowField(read=lambda obj: obj.row.get(key))

    @classmethod
    def text(cls, key: str) -> RowField[Any]:
        """The row's `key` as text (an id the driver gives as a UUID)."""
        return RowField(read=lambda obj: str(obj.row[key]))

    @classmethod
    def member(cls, enum: type[E], key: str) -> RowField[E]:
        """The row's `key` as the member of `enum` with that value, found in a dictionary
        (calling the enum costs two Python calls per row); anything else goes to the enum,
        which refuses it as before."""
        members = {m.value: m for m in enum}

        def read(obj: HasRow) -> E:
            value = obj.row[key]
            found = members.get(value)
            return found if found is not None else enum(value)

        return RowField(read=read)

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


def row_columns(cls: type) -> dict[str, str | Callable[[Any], Any]]:
    """What each RowField of `cls` reads: its row key, or its read function (for the inline
    plans of sigma_graphql/execution/plan_compiler.py, which then skip the descriptor)."""
    found: dict[str, str | Callable[[Any], Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, RowField):
                found[name] = value.key if value.read is None else value.read
            elif name in found:  # overridden below by something that is not a RowField
                del found[name]
    return found


def row_backed_subclass(cls: type) -> type | None:
    """The one row-backed subclass of the Strawberry type `cls` (RowLog of FinancialLog, ...),
    None when it has none or several."""
    subclasses: list[type] = cls.__subclasses__()
    found = [sub for sub in subclasses if row_columns(sub)]
    return found[0] if len(found) == 1 else None
