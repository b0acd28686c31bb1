"""graphql-core's executor without its reference cycle (issue 16, bench/README.md).

graphql-core 3.3 keeps on each executor `async_helpers`, a tuple of the executor's own bound
methods handed to resolvers through their resolve info: a cycle, so every request's executor and
everything it reaches (our context and loaders, Starlette's request and response, the variables,
the documents of a page) outlived the request until the cyclic collector's next run, and each
run walked them. `CycleFreeExecutor` hands resolvers helpers that reach the executor through a
weak reference instead; `gather` never needed it, `track` settles its values on the executor
while the execution it belongs to runs. Both execution paths use it: the stock one directly,
the fast one (fast_execution.py) as its base.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from typing import Any

from graphql import GraphQLResolveInfoHelpers
from graphql.execution.executor import Executor
from graphql.pyutils import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class CycleFreeExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor whose resolvers' async helpers hold it weakly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers_without_cycle(self)


def _helpers_without_cycle(executor: Executor[Any]) -> GraphQLResolveInfoHelpers:
    ref = weakref.ref(executor)

    def track(values: Sequence[Any]) -> None:
        found = ref()
        if found is not None:
            found.track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=_gather, track=track)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)
