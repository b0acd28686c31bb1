"""In-process publish/subscribe for GraphQL subscriptions.

Topics are strings such as "notifications:<owner uuid>" or "verification_tasks". Each subscriber
gets its own bounded queue; a slow subscriber loses its oldest events rather than blocking writers.
Only subscribers connected to this process receive events (see the README's notes on running
several processes).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any


class PubSub:
    def __init__(self, queue_size: int = 100) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Any]]] = defaultdict(set)
        self._queue_size = queue_size

    def publish(self, topic: str, message: Any) -> int:
        """Delivers to every current subscriber of topic; returns how many got it."""
        queues = self._subscribers.get(topic, ())
        for queue in queues:
            if queue.full():
                with suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)
        return len(queues)

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    async def subscribe(self, topic: str) -> AsyncIterator[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue(self._queue_size)
        self._subscribers[topic].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]
