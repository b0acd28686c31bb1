"""Repository of the cross-process event log (Cassandra `events`, db/cql/050_events.cql)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cassandra.util import min_uuid_from_time, unix_time_from_uuid1, uuid_from_time

from db.drivers.cassandra import Cassandra

# Seconds per partition: small partitions, and a reader needs at most two of them.
BUCKET_S = 10

INSERT = "INSERT INTO events (bucket, event_id, origin, topic, payload) VALUES (?, ?, ?, ?, ?)"
# One query for both partitions (IN on the partition key with a clustering slice).
SELECT_SINCE = (
    "SELECT event_id, origin, topic, payload FROM events WHERE bucket IN (?, ?) AND event_id > ?"
)


@dataclass(frozen=True)
class StoredEvent:
    event_id: uuid.UUID
    origin: uuid.UUID
    topic: str
    payload: str

    @property
    def at(self) -> float:
        """Unix seconds of the publisher's clock when the event was published."""
        return float(unix_time_from_uuid1(self.event_id))


def bucket_of(unix_s: float) -> int:
    return int(unix_s) // BUCKET_S


def new_event_id(unix_s: float) -> uuid.UUID:
    event_id: uuid.UUID = uuid_from_time(unix_s)
    return event_id


async def insert(
    cass: Cassandra, *, event_id: uuid.UUID, origin: uuid.UUID, topic: str, payload: str
) -> None:
    bucket = bucket_of(unix_time_from_uuid1(event_id))
    await cass.execute(INSERT, (bucket, event_id, origin, topic, payload))


async def read_since(cass: Cassandra, since_s: float, now_s: float) -> list[StoredEvent]:
    """Events later than since_s in the current and previous bucket, oldest first."""
    current = bucket_of(now_s)
    rows = await cass.execute(SELECT_SINCE, (current - 1, current, min_uuid_from_time(since_s)))
    events = [StoredEvent(r["event_id"], r["origin"], r["topic"], r["payload"]) for r in rows]
    events.sort(key=lambda e: (e.at, e.event_id.bytes))
    return events
