"""Failed-login counting per account and per client address (Cassandra `login_failures`).

Each failure is one row written `USING TTL <window>`: the count of live rows is the number of
failures in the rolling window, and the window expires by itself (counters cannot carry a TTL).

Race-free limit: an attempt that passes a read-only check writes its row, then counts again.
Concurrent attempts therefore see each other, and at most `login_max_failures` of them get past
the second count in one window (a check-then-write scheme lets a burst of parallel guesses
through). An attempt that loses that race, or succeeds, removes its own row again; only real
failures stay counted. Attempts refused by the first check write nothing, so an attacker
hammering a used-up account or address neither extends the window nor piles up tombstones.

Reads cover the window only and stop just past the limit (`LIMIT max + 1`), so a partition
under attack is never read whole. The account scope is keyed by the lower-cased e-mail given
(known or not), so limits do not reveal whether an account exists.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cassandra.util import uuid_from_time

from db.cassandra import Cassandra

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True)
class Attempt:
    email_lower: str
    address: str
    # The timeuuid of this attempt's rows (clustering key), so the rows can be removed again.
    attempt_id: uuid.UUID = field(default_factory=lambda: uuid_from_time(time.time()))

    def scopes(self) -> list[tuple[str, str]]:
        return [(ACCOUNT, self.email_lower), (ADDRESS, self.address)]


async def _counts(cassandra: Cassandra, attempt: Attempt) -> list[int]:
    """Live failures inside the window per scope, counted up to max + 1."""
    settings = cassandra.settings
    since = datetime.fromtimestamp(time.time() - settings.login_window_s, UTC)

    async def count(scope: str, subject: str) -> int:
        rows = await cassandra.execute(
            "SELECT attempt FROM login_failures WHERE scope = ? AND subject = ? "
            "AND attempt > minTimeuuid(?) LIMIT ?",
            (scope, subject, since, settings.login_max_failures + 1),
        )
        return len(rows)

    return list(await asyncio.gather(*(count(s, subject) for s, subject in attempt.scopes())))


async def begin(cassandra: Cassandra, attempt: Attempt) -> bool:
    """Counts this attempt as a failure up front; False (and uncounted) when over the limit."""
    limit = cassandra.settings.login_max_failures
    if any(c >= limit for c in await _counts(cassandra, attempt)):
        return False  # used up already: refused without writing anything
    await asyncio.gather(
        *(
            cassandra.execute(
                "INSERT INTO login_failures (scope, subject, attempt) VALUES (?, ?, ?) USING TTL ?",
                (scope, subject, attempt.attempt_id, cassandra.settings.login_window_s),
            )
            for scope, subject in attempt.scopes()
        )
    )
    if any(c > limit for c in await _counts(cassandra, attempt)):
        await forget(cassandra, attempt)  # lost the race to concurrent attempts
        return False
    return True


async def forget(cassandra: Cassandra, attempt: Attempt) -> None:
    """Uncounts the attempt (it succeeded, or lost the race for the last free failure)."""
    await asyncio.gather(
        *(
            cassandra.execute(
                "DELETE FROM login_failures WHERE scope = ? AND subject = ? AND attempt = ?",
                (scope, subject, attempt.attempt_id),
            )
            for scope, subject in attempt.scopes()
        )
    )
