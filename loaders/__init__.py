"""Per-request DataLoaders. Every cross-object or cross-database fetch goes through one.

`Loaders` is created fresh for each request (so nothing is cached across viewers). A domain
module defines a factory `def user_by_id(dbs) -> DataLoader[...]` taking the database handles
(never the request context, so loaders sit below it) and resolvers call
`ctx.loaders.get(user_by_id)`: the factory runs once per request, so all loads of one request
batch into one database call per tick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from db.drivers.handles import Databases

L = TypeVar("L")


class Loaders:
    def __init__(self, dbs: Databases) -> None:
        self._dbs = dbs
        self._made: dict[Callable[..., Any], Any] = {}

    def get(self, factory: Callable[[Databases], L]) -> L:
        loader = self._made.get(factory)
        if loader is None:
            loader = factory(self._dbs)
            self._made[factory] = loader
        return loader  # type: ignore[no-any-return]
