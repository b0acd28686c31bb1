"""The DataLoader every loader factory builds on: aiodataloader's, as the design card names
(measured against strawberry.dataloader in bench/README.md, "DataLoaders": not slower), pinned
below 0.5 in pyproject.toml (its constructor and `load_many` are written out here).

Batching is aiodataloader's: every load of one tick forms one batch. Two habits of the loader
used before are kept, so a request behaves as it did:
- a batch that raises fails each of its keys, and they stay failed for the rest of the request
  (aiodataloader would forget them and ask the database that just failed again on the next load
  of the same key);
- a cached load that was cancelled with its caller (graphql-core cancels sibling fields when an
  error nulls their parent) is loaded afresh instead of answering the next caller with
  CancelledError.
`load_many` awaits its keys in order instead of gathering them (cheaper, same answers).
"""

from __future__ import annotations

from asyncio import Future, get_event_loop
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar, cast

import aiodataloader

from sigma_graphql.observability import metrics, tracing

K = TypeVar("K")
V = TypeVar("V")


class DataLoader(aiodataloader.DataLoader[K, V]):
    def __init__(self, load_fn: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        # The batch function's name labels its metric and span (a fixed set: our functions).
        name = getattr(load_fn, "__qualname__", "loader").replace(".<locals>.", ".")
        histogram = metrics.labeled(metrics.DATALOADER_BATCH, name)

        async def batch(keys: list[K]) -> list[V]:
            histogram.observe(len(keys))
            with tracing.span(f"dataloader {name}", {"dataloader.batch_size": len(keys)}) as span:
                try:
                    return list(await load_fn(keys))
                except Exception as error:
                    tracing.fail(span, error)
                    # aiodataloader fails a key whose value is an exception and keeps it cached
                    return cast(list[V], [error] * len(keys))

        # aiodataloader's __init__ for these arguments, without its checks of `batch` (a
        # coroutine function by construction here; the check costs about a dozen Python calls
        # per loader, and a request makes several): tests/test_dataloader.py checks the
        # attributes against the library's own constructor.
        self.loop = get_event_loop()
        self.batch_load_fn = batch
        self._cache = {}
        self._queue = []

    def get_cache_key(self, key: K) -> K:  # type: ignore[override]
        # A key is its own cache key (this class takes no get_cache_key): load_many relies on it.
        return key

    def load(self, key: K) -> Future[V]:
        cached = self._cache.get(key)
        if cached is not None and cached.cancelled():
            self.clear(key)
        return super().load(key)

    def load_many(self, keys: Iterable[K]) -> Awaitable[list[V]]:  # type: ignore[override]
        """Every key's load, queued now (in this tick's batch, as aiodataloader's), awaited in
        order. Each key is what `load` does, written out for the whole list: a cached future
        (one cancelled with its caller is loaded afresh), or a new one cached and queued,
        the queue's dispatch scheduled once if it was empty (aiodataloader's `load` costs
        about twenty Python calls per key; a staff page loads 200). aiodataloader gathers the
        futures (a wrapper and two callbacks per key); one batch settles them all at once, so
        awaiting them one after the other suspends once. The first failed key raises, as with
        gather; a caller cancelled while waiting cancels the one load it waits on (loaded
        afresh by the next caller), not all of them."""
        cache = self._cache
        loop = self.loop
        futures: list[Future[V]] = []
        queued: list[aiodataloader.Loader] = []
        for key in keys:
            if key is None:
                raise TypeError("The loader.load() function must be called with a value")
            future = cache.get(key)
            if future is None or future.cancelled():
                # What loop.create_future makes, without its two Python calls.
                future = cache[key] = Future(loop=loop)
                queued.append(_LOADER(aiodataloader.Loader, (key, future)))
            futures.append(future)
        if queued:
            queue = self._queue
            queue.extend(queued)
            if len(queue) == len(queued):  # it was empty: no dispatch scheduled yet
                aiodataloader.enqueue_post_future_job(loop, self)
        return _in_order(futures)


# aiodataloader's queue entry (a namedtuple) made without its Python-level __new__.
_LOADER = tuple.__new__


async def _in_order(futures: list[Future[V]]) -> list[V]:
    try:
        return [await future for future in futures]
    except BaseException:
        # As gather does: the other failures count as seen (asyncio would log each one as
        # "exception was never retrieved" when the request's loaders are dropped).
        for future in futures:
            if future.done() and not future.cancelled():
                future.exception()
        raise
