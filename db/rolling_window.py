"""Rolling-window limits on Cassandra: one row per event, written `USING TTL <window>`.

Serves the failed-login limit (`login_failures`, db/login_guard.py) and the per-recipient mail
throttle (`mail_sends`, db/mail_throttle.py). Both tables share the shape
`((scope, subject), attempt timeuuid DESC)`: the count of live rows is the number of events in
the rolling window, and the window expires by itself (counters cannot carry a TTL).

Race-free limit (`take`): an event that passes a read-only check writes its rows, then counts
again. Concurrent events therefore see each other, and at most `max_events` of them get past the
second count in one window (a check-then-write scheme lets a parallel burst through). An event
that loses that race removes its rows again. Events refused by the first check write nothing,
so hammering a used-up subject neither extends the window nor piles up tombstones.

Reads cover the window only (`attempt > minTimeuuid(now - window)`) and stop just past the
limit (`LIMIT max + 1`), so a partition under attack is never read whole.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cassandra.util import uuid_from_time

from db.drivers.cassandra import Cassandra

Key = tuple[str, str]  # (scope, subject)
# Subjects come from requests (an e-mail as typed); Cassandra refuses partition keys over 64 KiB.
# No real address is this long, so clipping only merges keys of garbage input.
SUBJECT_MAX = 320


@dataclass(frozen=True)
class Window:
    # A table of this module's shape; a constant of the calling module, never user input.
    table: str
    seconds: int
    max_events: int


def new_event_id() -> uuid.UUID:
    """The timeuuid of one event's rows (clustering key), so they can be removed again."""
    event_id: uuid.UUID = uuid_from_time(time.time())
    return event_id


def _clipped(keys: Sequence[Key]) -> list[Key]:
    return [(scope, subject[:SUBJECT_MAX]) for scope, subject in keys]


async def counts(cassandra: Cassandra, window: Window, keys: Sequence[Key]) -> list[int]:
    """Live events inside the window per key, counted up to max + 1."""
    since = datetime.fromtimestamp(time.time() - window.seconds, UTC)
    cql = (
        f"SELECT attempt FROM {window.table} WHERE scope = ? AND subject = ? "
        "AND attempt > minTimeuuid(?) LIMIT ?"
    )

    async def count(scope: str, subject: str) -> int:
        return len(await cassandra.execute(cql, (scope, subject, since, window.max_events + 1)))

    return list(await asyncio.gather(*(count(scope, subject) for scope, subject in _clipped(keys))))


async def take(
    cassandra: Cassandra, window: Window, keys: Sequence[Key], event_id: uuid.UUID
) -> bool:
    """Counts the event under every key; False (and nothing counted) when any key is used up."""
    if any(c >= window.max_events for c in await counts(cassandra, window, keys)):
        return False  # used up already: refused without writing anything
    cql = f"INSERT INTO {window.table} (scope, subject, attempt) VALUES (?, ?, ?) USING TTL ?"
    await asyncio.gather(
        *(
            cassandra.execute(cql, (scope, subject, event_id, window.seconds))
            for scope, subject in _clipped(keys)
        )
    )
    if any(c > window.max_events for c in await counts(cassandra, window, keys)):
        await release(cassandra, window, keys, event_id)  # lost the race to concurrent events
        return False
    return True


async def release(
    cassandra: Cassandra, window: Window, keys: Sequence[Key], event_id: uuid.UUID
) -> None:
    """Uncounts the event under every key."""
    cql = f"DELETE FROM {window.table} WHERE scope = ? AND subject = ? AND attempt = ?"
    await asyncio.gather(
        *(cassandra.execute(cql, (scope, subject, event_id)) for scope, subject in _clipped(keys))
    )
