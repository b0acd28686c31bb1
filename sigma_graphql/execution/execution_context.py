"""Strawberry's ExecutionContext with the operation's name and type found once per document.

`ExecutionContext.operation_name` and `operation_type` are properties that walk the parsed
document's definitions on every read, and a request reads them about ten times (Strawberry's
own checks, then our observer, cost limiter, argument guard and subscription check): about 60
Python calls per request (`python -m bench.calls --stages`, bench/README.md). Here each answer is
kept beside the document it was read from, so a document set later (parsing) or replaced (a
persisted query) is read again; a failure (no operation of that name) is not kept and raises
on every read, as before.
"""

from __future__ import annotations

from typing import Any

from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

_STRAWBERRY_NAME: Any = ExecutionContext.operation_name
_STRAWBERRY_TYPE: Any = ExecutionContext.operation_type


class SigmaExecutionContext(ExecutionContext):
    # (document, answer) of the last read; the document is compared by identity.
    _name_read: tuple[object, str | None] | None = None
    _type_read: tuple[object, OperationType] | None = None

    @property
    def operation_name(self) -> str | None:
        read = self._name_read
        if read is not None and read[0] is self.graphql_document:
            return read[1]
        name: str | None = _STRAWBERRY_NAME.fget(self)
        self._name_read = (self.graphql_document, name)
        return name

    @property
    def operation_type(self) -> OperationType:
        read = self._type_read
        if read is not None and read[0] is self.graphql_document:
            return read[1]
        found: OperationType = _STRAWBERRY_TYPE.fget(self)
        self._type_read = (self.graphql_document, found)
        return found
