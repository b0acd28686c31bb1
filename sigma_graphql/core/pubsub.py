"""Publish/subscribe for GraphQL subscriptions.

Topics are strings such as "notifications:<owner uuid>" or "verification_tasks". Each subscriber
gets its own bounded queue; a slow subscriber loses its oldest events rather than blocking writers.
`publish` delivers to this process's subscribers at once and hands the message to the attached
relay, if any: the application attaches the NATS bus (sigma_graphql/server/nats_bus.py)
so subscribers connected to other API processes receive it too. A bare `PubSub()` (scripts, unit
use without databases) stays in-process only.

Since issue 17 the relay is the NATS bus (sigma_graphql/server/nats_bus.py). While the broker is
unreachable the bus calls `interrupt()`: every open subscription ends with BrokerUnavailable
(SERVICE_UNAVAILABLE, `reconnect: true`) and new ones are refused until `resume()`, so no
subscriber silently misses other processes' events; `notificationAdded(since:)` then catches up
from Cassandra. Listeners registered with `on` (the public answer cache) are plain callbacks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncGenerator, Callable
from contextlib import suppress
from typing import Any, Protocol

from sigma_graphql.core.errors import SERVICE_UNAVAILABLE, AppError

log = logging.getLogger(__name__)

_INTERRUPTED = object()  # queued to end a subscription: the broker went away


class BrokerUnavailable(AppError):
    """Subscriptions cannot see other processes' events now: subscribe again later."""

    def __init__(self) -> None:
        super().__init__(
            "Layanan peristiwa sementara tidak tersedia; berlangganan kembali "
            "(Event broker unavailable: subscribe again)",
            SERVICE_UNAVAILABLE,
            reconnect=True,
            retryAfter=1,
        )


class Relay(Protocol):
    """Carries published messages to other processes; must not block and must not raise."""

    def forward(self, topic: str, message: Any) -> None: ...


class PubSub:
    def __init__(self, queue_size: int = 100, relay: Relay | None = None) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Any]]] = defaultdict(set)
        self._queue_size = queue_size
        self._relay = relay
        self._listeners: dict[str, list[Callable[[Any], None]]] = defaultdict(list)
        self.available = True

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
        for listener in self._listeners.get(topic, ()):
            try:
                listener(message)
            except Exception:
                log.exception("listener of %s failed", topic)
        queues = self._subscribers.get(topic, ())
        for queue in queues:
            if queue.full():
                with suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)
        return len(queues)

    def on(self, topic: str, listener: Callable[[Any], None]) -> None:
        """Calls listener (synchronously, must not block) with every message delivered on topic,
        local or relayed."""
        self._listeners[topic].append(listener)

    def interrupt(self) -> None:
        """The relay lost its broker: ends every open subscription with BrokerUnavailable and
        refuses new ones until resume()."""
        self.available = False
        for queues in self._subscribers.values():
            for queue in queues:
                if queue.full():
                    with suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                queue.put_nowait(_INTERRUPTED)

    def resume(self) -> None:
        self.available = True

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    async def subscribe(self, topic: str) -> AsyncGenerator[Any, None]:
        with self.open(topic) as sub:
            while True:
                yield await sub.get()

    def open(self, topic: str) -> Subscription:
        """A subscription registered at once (events published from now on are kept for it),
        for callers that read something else before the first event (catch-up)."""
        if not self.available:
            raise BrokerUnavailable()
        queue: asyncio.Queue[Any] = asyncio.Queue(self._queue_size)
        self._subscribers[topic].add(queue)
        return Subscription(self, topic, queue)

    def _close(self, topic: str, queue: asyncio.Queue[Any]) -> None:
        queues = self._subscribers.get(topic)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[topic]


class Subscription:
    """One subscriber's queue (PubSub.open); use as a context manager so it is removed."""

    def __init__(self, pubsub: PubSub, topic: str, queue: asyncio.Queue[Any]) -> None:
        self._pubsub, self._topic, self._queue = pubsub, topic, queue

    async def get(self) -> Any:
        message = await self._queue.get()
        if message is _INTERRUPTED:
            raise BrokerUnavailable()
        return message

    def close(self) -> None:
        self._pubsub._close(self._topic, self._queue)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
