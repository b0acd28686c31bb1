"""Publish/subscribe for GraphQL subscriptions.

Topics are strings such as "notifications:<owner uuid>" or "verification_tasks". Each subscriber
gets its own bounded queue; a slow subscriber loses its oldest events rather than blocking writers.
`publish` delivers to this process's subscribers at once and hands the message to the attached
relay, if any: the application attaches the Cassandra-backed event bus
(sigma_graphql/server/event_bus.py)
so subscribers connected to other API processes receive it too. A bare `PubSub()` (scripts, unit
use without databases) stays in-process only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncGenerator
from contextlib import suppress
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Relay(Protocol):
    """Carries published messages to other processes; must not block and must not raise."""

    def forward(self, topic: str, message: Any) -> None: ...


class PubSub:
    def __init__(self, queue_size: int = 100, relay: Relay | None = None) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Any]]] = defaultdict(set)
        self._queue_size = queue_size
        self._relay = relay

    def attach(self, relay: Relay | None) -> None:
        """Sets (or with None removes) the relay to other processes."""
        self._relay = relay

    def publish(self, topic: str, message: Any) -> int:
        """Delivers to every local subscriber of topic and relays the message to other
        processes; returns how many local subscribers got it. Never raises for the relay: the
        caller's write has succeeded already."""
        delivered = self.deliver(topic, message)
        if self._relay is not None:
            try:
                self._relay.forward(topic, message)
            except Exception:
                log.exception("relaying an event on %s failed", topic)
        return delivered

    def deliver(self, topic: str, message: Any) -> int:
        """Delivers to this process's subscribers only (the event bus uses it for messages
        published elsewhere)."""
        queues = self._subscribers.get(topic, ())
        for queue in queues:
            if queue.full():
                with suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)
        return len(queues)

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    async def subscribe(self, topic: str) -> AsyncGenerator[Any, None]:
        queue: asyncio.Queue[Any] = asyncio.Queue(self._queue_size)
        self._subscribers[topic].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]
