"""Cross-process delivery of pubsub events through Cassandra.

Design: several API processes run behind a load balancer, so a subscriber may be connected to a
process other than the one that handled the mutation. Every `PubSub.publish` still delivers to
local subscribers at once, and the bus (attached as the PubSub relay in the app lifespan) also
stores the event, fire-and-forget, in the Cassandra table `events`: partition = unix seconds // 10
of the event, clustering = a timeuuid of the publish time, plus the publishing process's id, the
topic and a JSON payload (sigma_graphql/core/event_codec.py restores UUIDs, datetimes and registered
dataclasses). A failed insert is logged, never raised into the mutation. A poller task in each
process, only while that process has at least one subscriber, runs ONE query per
`settings.event_poll_interval_s` (current and previous partition, events after the previous
poll's start minus GRACE_S) and delivers events published by OTHER processes to local
subscribers of their topic; its own events were delivered locally already. The GRACE_S overlap
tolerates insert latency and small clock differences between hosts (an event whose id is older
than a newer one already seen is still found); the ids seen in the overlap window make each event
delivered once. Events published while a process had no subscriber are not replayed, like the
in-process pubsub. A Cassandra outage is logged and the next interval reads again (events older
than the two partitions read, ~10-20 s, are then lost for remote subscribers; subscriptions are a
live feed, the notifications list stays the record). Rows expire after an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
from typing import Any

from db import events
from db.drivers.cassandra import Cassandra
from sigma_graphql.core.event_codec import EventCodecError, decode, encode
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.observability import metrics

log = logging.getLogger(__name__)

# Seconds of overlap between consecutive reads: bounds insert latency plus clock skew between
# API hosts that the bus tolerates without missing an event.
GRACE_S = 2.0


class EventBus:
    """The relay of one process's PubSub to the others; start() in the lifespan, stop() after."""

    def __init__(self, pubsub: PubSub, cassandra: Cassandra, *, poll_interval_s: float) -> None:
        self.pubsub = pubsub
        self.cassandra = cassandra
        self.poll_interval_s = poll_interval_s
        self.process_id = uuid.uuid4()
        # Lower bound (unix s) of the last completed read; tests wait until it passes an event.
        self.window_start = 0.0
        self._pending: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._previous_poll: float | None = None  # None: idle (no subscriber at the last tick)
        self._floor = time.time()  # events published before we had subscribers are not replayed
        self._seen: dict[uuid.UUID, float] = {}
        self._failing = False

    @property
    def polling(self) -> bool:
        """The poller task is alive (it survives Cassandra outages)."""
        return self._poller is not None and not self._poller.done()

    @property
    def failing(self) -> bool:
        """The last read of the event log failed (Cassandra unreachable or slow)."""
        return self._failing

    # -- publishing -------------------------------------------------------------------------

    def forward(self, topic: str, message: Any) -> None:
        """Relay hook of PubSub.publish: encodes now, stores in the background."""
        try:
            payload = encode(message)
        except EventCodecError:
            log.exception("event on %s cannot be shared with other processes", topic)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("event on %s published outside the event loop: not shared", topic)
            return
        # A fresh context: the insert must not count as a round trip of the request that
        # published (it may finish after the response is built).
        task = loop.create_task(
            self._store(topic, payload, events.new_event_id(time.time())),
            context=contextvars.Context(),
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _store(self, topic: str, payload: str, event_id: uuid.UUID) -> None:
        try:
            await events.insert(
                self.cassandra,
                event_id=event_id,
                origin=self.process_id,
                topic=topic,
                payload=payload,
            )
        except Exception as exc:
            log.warning("event %s on %s not stored for other processes: %s", event_id, topic, exc)

    # -- receiving --------------------------------------------------------------------------

    def start(self) -> None:
        self.pubsub.attach(self)
        self._poller = asyncio.get_running_loop().create_task(self._run(), name="event-bus-poller")

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stops polling and waits (bounded) for events still being stored."""
        self.pubsub.attach(None)
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            try:
                await self.poll_once()
            except Exception as exc:
                # Cassandra down or slow: say it once, then read again at the next interval.
                if not self._failing:
                    log.warning("event bus cannot read events, retrying: %s", exc)
                self._failing = True
            else:
                if self._failing:
                    log.info("event bus reads events again")
                self._failing = False

    async def poll_once(self) -> int:
        """One read of the event log; returns how many events were delivered locally."""
        now = time.time()
        if not self.pubsub.has_subscribers:
            self._previous_poll = None
            self._floor = now
            self._seen.clear()
            return 0
        start = self._floor if self._previous_poll is None else self._previous_poll
        since = start - GRACE_S
        found = await events.read_since(self.cassandra, since, now)
        delivered = 0
        for event in found:
            if event.origin == self.process_id or event.event_id in self._seen:
                continue
            self._seen[event.event_id] = event.at
            if event.at <= self._floor or not self.pubsub.subscriber_count(event.topic):
                continue
            try:
                message = decode(event.payload)
            except (EventCodecError, ValueError, TypeError, KeyError):
                log.exception("event %s on %s cannot be decoded", event.event_id, event.topic)
                continue
            delivered += self.pubsub.deliver(event.topic, message)
            metrics.EVENT_BUS_LAG.observe(max(0.0, time.time() - event.at))
        self._previous_poll = now
        self.window_start = since
        # Ids at or before this read's lower bound can never be returned again.
        self._seen = {k: at for k, at in self._seen.items() if at > since}
        return delivered
