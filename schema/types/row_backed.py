"""Fields read from a database row when they are asked for, not when the object is built.

A GraphQL object built from a row usually has many fields and a document selects few of them:
the staff audit list reads `bulan`, `omzet` and `isFlagged` of each log, and converting the
other eleven (two datetimes among them) cost more than answering. A row-backed class is a plain
subclass of the Strawberry type whose fields are `RowField` descriptors: making one stores the
row (a Cassandra row, a MongoDB document), and each field converts its column when it is read,
every time (no cache: a plan reads each field once). Graphql-core's default resolver and the
inline plans of `sigma_graphql/execution/fast_execution.py` both read attributes, so neither
sees a difference, and the object is still an instance of the type.

The fields are read-only: a row-backed object is a view of its row, which nobody changes once
it is read from the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, overload

T = TypeVar("T")


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
