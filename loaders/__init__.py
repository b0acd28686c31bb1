"""Per-request DataLoaders. Every cross-object or cross-database fetch goes through one.

`Loaders` is created fresh for each request (so nothing is cached across viewers). A domain
module defines a factory `def user_by_id(ctx) -> DataLoader[...]` and resolvers call
`ctx.loaders.get(user_by_id)`: the factory runs once per request, so all loads of one request
batch into one database call per tick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sigma_graphql.context import Context

L = TypeVar("L")


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._made: dict[Callable[..., Any], Any] = {}

    def get(self, factory: Callable[[Context], L]) -> L:
        loader = self._made.get(factory)
        if loader is None:
            loader = factory(self._ctx)
            self._made[factory] = loader
        return loader  # type: ignore[no-any-return]
