"""Cross-process delivery of pubsub events through NATS (issue 17; replaces the Cassandra poller).

Several API processes run behind a load balancer, so a subscriber may be connected to a process
other than the one that handled the write. `PubSub.publish` delivers to local subscribers at once
and hands the message to this relay, which publishes it on a subject per audience:
`<prefix>.ev.notifications.<owner id>` (one owner's notifications), `<prefix>.ev.verification_tasks`
(staff), `<prefix>.ev.cache.public` (public answer cache invalidation; any topic maps the same
way: ':' becomes '.'). The payload is the publishing process's id (32 hex digits), the
publication time (17 characters, Unix seconds with microseconds: the receiver's
`sigma_event_bus_lag_seconds`), then the message encoded with sigma_graphql/core/event_codec.py.
Each process holds ONE subscription, `<prefix>.ev.>`, and delivers messages of other
processes to its local subscribers (`PubSub.deliver`); its own were delivered locally already.
One subscription keeps the order in which one process published (NATS keeps per-publisher order
on a subscription).

The connection belongs to the app lifespan (start/stop). nats-py reconnects by itself, forever,
also when the broker is down at start-up. While it is disconnected, `/ready` reports NATS as
`degraded` (writes and stored notifications do not need it), and the PubSub is interrupted:
open subscriptions end with SERVICE_UNAVAILABLE `reconnect: true` and new ones are refused, so a
client never waits on a feed that silently misses other processes' events; once NATS is back,
subscriptions work again and `notificationAdded(since:)` catches up from Cassandra. Messages
published while disconnected are buffered by nats-py (bounded) and sent after the reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from sigma_graphql.core.event_codec import EventCodecError, decode, encode
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.observability import metrics

log = logging.getLogger(__name__)

# nats-py's wait between reconnect attempts (seconds): delivery resumes this soon after NATS.
RECONNECT_WAIT_S = 0.5
# Bytes of a payload before the message: the publisher's id, then the publication time.
ORIGIN_LEN = 32
STAMP_LEN = 17


def subject_of(prefix: str, topic: str) -> str:
    """The subject of a pubsub topic: "notifications:<id>" -> "<prefix>.ev.notifications.<id>"."""
    return f"{prefix}.ev.{topic.replace(':', '.')}"


def topic_of(prefix: str, subject: str) -> str | None:
    head = f"{prefix}.ev."
    if not subject.startswith(head):
        return None
    return subject[len(head) :].replace(".", ":", 1)


class NatsBus:
    """The relay of one process's PubSub to the others; start() in the lifespan, stop() after."""

    def __init__(self, pubsub: PubSub, servers: str, *, prefix: str) -> None:
        self.pubsub = pubsub
        self.servers = [s for s in servers.split(",") if s]
        self.prefix = prefix
        self.process_id = uuid.uuid4()
        self._origin = self.process_id.hex.encode()
        self.nc = NatsClient()
        self.received = 0  # messages of other processes delivered (tests, metrics)
        self._connected = False
        self._connector: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._connected and self.nc.is_connected

    @property
    def status(self) -> str:
        """For /ready: "ok" or "degraded" (events stay inside this process meanwhile)."""
        return "ok" if self.connected else "degraded"

    # -- publishing -------------------------------------------------------------------------

    def forward(self, topic: str, message: Any) -> None:
        """Relay hook of PubSub.publish: encodes now, publishes in the background."""
        try:
            stamp = f"{time.time():0{STAMP_LEN}.6f}".encode()
            payload = self._origin + stamp + encode(message).encode()
        except EventCodecError:
            log.exception("event on %s cannot be shared with other processes", topic)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("event on %s published outside the event loop: not shared", topic)
            return
        # A fresh context: nothing of the publishing request (round-trip counters) follows it.
        task = loop.create_task(
            self._publish(subject_of(self.prefix, topic), payload), context=contextvars.Context()
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, subject: str, payload: bytes) -> None:
        try:
            await self.nc.publish(subject, payload)
        except Exception as exc:  # buffer full while disconnected, closed client
            log.warning("event on %s not sent to other processes: %s", subject, exc)

    # -- receiving --------------------------------------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        data = msg.data
        if data[:ORIGIN_LEN] == self._origin:
            return
        topic = topic_of(self.prefix, msg.subject)
        if topic is None:
            return
        try:
            published = float(data[ORIGIN_LEN : ORIGIN_LEN + STAMP_LEN])
            message = decode(data[ORIGIN_LEN + STAMP_LEN :].decode())
        except (EventCodecError, ValueError, TypeError, KeyError):
            log.exception("event on %s cannot be decoded", msg.subject)
            return
        self.received += 1
        self.pubsub.deliver(topic, message)
        # The topic's kind ("notifications", "cache", ...): a closed set, ids stay out of labels.
        kind = topic.split(":", 1)[0]
        metrics.EVENT_BUS_LAG.labels(kind).observe(max(0.0, time.time() - published))

    async def _disconnected(self) -> None:
        if self._connected:
            log.warning("NATS disconnected: subscriptions told to reconnect, events stay local")
        self._connected = False
        self.pubsub.interrupt()

    async def _reconnected(self) -> None:
        log.info("NATS connected again: cross-process events resume")
        self._connected = True
        self.pubsub.resume()

    async def _error(self, exc: Exception) -> None:
        log.debug("NATS: %s", exc)

    async def _connect(self) -> None:
        await self.nc.connect(
            servers=self.servers,
            name=f"sigma-graphql-{self.process_id.hex[:8]}",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT_S,  # type: ignore[arg-type]
            connect_timeout=2,
            ping_interval=5,
            max_outstanding_pings=2,
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
            error_cb=self._error,
        )
        # Resubscribed by nats-py after every reconnect.
        await self.nc.subscribe(f"{self.prefix}.ev.>", cb=self._on_message)
        await self.nc.flush()
        self._connected = True
        self.pubsub.resume()
        log.info("NATS connected: cross-process events on %s.ev.>", self.prefix)

    def start(self) -> None:
        """Attaches the relay and connects in the background (a broker down at start-up does not
        stop the API: subscriptions wait for it)."""
        self.pubsub.attach(self)
        self.pubsub.interrupt()  # until connected
        self._connector = asyncio.get_running_loop().create_task(
            self._connect(), name="nats-connect"
        )

    async def wait_connected(self, timeout_s: float) -> bool:
        if self._connector is not None:
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._connector), timeout_s)
        return self.connected

    async def stop(self, timeout_s: float = 5.0) -> None:
        self.pubsub.attach(None)
        self._connected = False  # a disconnect from here on is ours: no warning
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.drain(), timeout_s)
            with contextlib.suppress(Exception):
                await self.nc.close()
        self._connected = False
        self.pubsub.resume()
