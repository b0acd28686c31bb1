"""Shared answers for anonymous reads (issue #7: "response caching for public reads").

Every anonymous visitor sees the same thing: an anonymous query's data depends only on the
document, its variables, the language and the state of the databases. So this process keeps
the data of successful anonymous queries for `SIGMA_PUBLIC_CACHE_TTL_S` seconds and answers
the same request from memory: no database round trip, no execution. The budget is still
charged (the extension runs after CostLimiter), and `extensions` are built per request.

Freshness:
- any mutation executed by this process empties the cache (a generation counter), so whoever
  writes through this process reads the new state right away, and a read that was running
  while a mutation finished is not stored;
- every mutation is also published on the pubsub topic CACHE_TOPIC, which the NATS bus
  (sigma_graphql/server/nats_bus.py, issue 17) carries to every other API process, whose stores
  empty on arrival (milliseconds): an answer older than a write is never served once its
  broadcast arrived. Writes made around the API (the CLI), or while NATS is down, are visible
  within the TTL at the latest. Signed-in viewers are never served from this cache.

Concurrent misses of one key wait for the first one instead of all executing (so an expiry
under load costs one execution, not one per waiting client). Answers with errors are never
kept; the cache holds at most `SIGMA_PUBLIC_CACHE_ENTRIES` answers, least recently used first
out.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.settings import Settings
from sigma_graphql.core.viewer import Audience
from sigma_graphql.observability import metrics

# docs/operations.md: a miss is a lookup that found nothing fresh (the request then executes, or
# waits for the same query in flight); an eviction drops the least recently used answer.
_HITS = metrics.CACHE_EVENTS.labels("hit")
_MISSES = metrics.CACHE_EVENTS.labels("miss")
_EVICTIONS = metrics.CACHE_EVENTS.labels("eviction")

Key = tuple[str, str | None, bytes, str]

# Pubsub topic of "a write happened: empty your public answers" (relayed to other processes).
CACHE_TOPIC = "cache:public"


@dataclass(frozen=True)
class _Entry:
    data: dict[str, Any]
    expires: float


class ResponseStore:
    """One per schema (per app): the kept answers, the generation and the misses in flight."""

    def __init__(
        self, ttl_s: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self.generation = 0
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._in_flight: dict[Key, asyncio.Future[dict[str, Any] | None]] = {}
        self.pubsub: PubSub | None = None

    def bind(self, pubsub: PubSub) -> None:
        """Empties this store whenever any process announces a write on CACHE_TOPIC."""
        if self.pubsub is not pubsub:
            self.pubsub = pubsub
            pubsub.on(CACHE_TOPIC, lambda _message: self.invalidate())

    def get(self, key: Key) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if entry is None:
            _MISSES.inc()
            return None
        if entry.expires <= self.clock():
            del self._entries[key]
            _MISSES.inc()
            return None
        self._entries.move_to_end(key)
        _HITS.inc()
        return entry.data

    def put(self, key: Key, data: dict[str, Any]) -> None:
        self._entries[key] = _Entry(data, self.clock() + self.ttl_s)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            _EVICTIONS.inc()

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()
        # Executions that started before the write still answer their own waiters, but no
        # request arriving from now on may join them.
        self._in_flight.clear()

    def in_flight(self, key: Key) -> asyncio.Future[dict[str, Any] | None] | None:
        return self._in_flight.get(key)

    def begin(self, key: Key) -> asyncio.Future[dict[str, Any] | None]:
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        return future

    def end(self, key: Key, future: asyncio.Future[dict[str, Any] | None], data: Any) -> None:
        if self._in_flight.get(key) is future:
            del self._in_flight[key]
        if not future.done():
            future.set_result(data)


def _key(ec: Any) -> Key | None:
    """The cache key of an anonymous query, or None when the request must execute."""
    if ec.operation_type is not OperationType.QUERY or ec.query is None:
        return None
    ctx = ec.context
    viewer = getattr(ctx, "viewer", None)
    if viewer is None or viewer.audience is not Audience.PUBLIC:
        return None
    try:
        variables = orjson.dumps(ec.variables or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return (ec.query, ec.operation_name, variables, str(getattr(ctx, "lang", "id")))


class PublicResponseCache(SchemaExtension):
    def __init__(self, store: ResponseStore) -> None:
        self.store = store

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if ec.operation_type is OperationType.MUTATION:
            yield
            self.store.invalidate()
            if self.store.pubsub is not None:
                self.store.pubsub.publish(CACHE_TOPIC, {"write": True})
            return
        key = _key(ec) if ec.result is None else None  # None: refused by CostLimiter
        if key is None:
            yield
            return
        data = self.store.get(key)
        if data is None:
            waiting = self.store.in_flight(key)
            if waiting is not None:
                data = await asyncio.shield(waiting)
        if data is not None:
            ec.result = GraphQLExecutionResult(data=data, errors=None)
            yield
            return
        generation = self.store.generation
        future = self.store.begin(key)
        kept: dict[str, Any] | None = None
        try:
            yield
            result = ec.result
            if (
                isinstance(result, GraphQLExecutionResult)
                and not result.errors
                and isinstance(result.data, dict)
                and generation == self.store.generation
            ):
                kept = result.data
                self.store.put(key, kept)
        finally:
            self.store.end(key, future, kept)


def response_cache_factory(
    settings: Settings, pubsub: PubSub | None = None
) -> Callable[[], PublicResponseCache] | None:
    """One store per schema (per app), a fresh extension per request; None when switched off.
    With the app's pubsub, writes on any process empty it (CACHE_TOPIC)."""
    if settings.public_cache_ttl_s <= 0:
        return None
    store = ResponseStore(settings.public_cache_ttl_s, settings.public_cache_entries)
    if pubsub is not None:
        store.bind(pubsub)
    return lambda: PublicResponseCache(store)
