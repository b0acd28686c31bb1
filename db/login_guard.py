"""Failed-login counting per account and per client address (Cassandra `login_failures`).

Each failure is one row written `USING TTL <window>`: the count of live rows is the number of
failures in the rolling window, and the window expires by itself (counters cannot carry a TTL).

Race-free limit: an attempt first writes its row, then counts. Concurrent attempts therefore
see each other, and at most `login_max_failures` of them can ever get past the count in one
window (a check-then-write scheme lets a burst of parallel guesses through). An attempt that is
refused or succeeds removes its own row again; only real failures stay counted.

Reads stop just past the limit (`LIMIT max + 1`), so a partition under attack is never read
whole. The account scope is keyed by the lower-cased e-mail given (known or not), so limits do
not reveal whether an account exists.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

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


async def _count(cassandra: Cassandra, scope: str, subject: str, limit: int) -> int:
    rows = await cassandra.execute(
        "SELECT attempt FROM login_failures WHERE scope = ? AND subject = ? LIMIT ?",
        (scope, subject, limit),
    )
    return len(rows)


async def begin(cassandra: Cassandra, attempt: Attempt) -> bool:
    """Counts this attempt as a failure up front; False (and uncounted) when over the limit."""
    max_failures = cassandra.settings.login_max_failures
    window = cassandra.settings.login_window_s
    await asyncio.gather(
        *(
            cassandra.execute(
                "INSERT INTO login_failures (scope, subject, attempt) VALUES (?, ?, ?) USING TTL ?",
                (scope, subject, attempt.attempt_id, window),
            )
            for scope, subject in attempt.scopes()
        )
    )
    counts = await asyncio.gather(
        *(_count(cassandra, s, subj, max_failures + 1) for s, subj in attempt.scopes())
    )
    if all(count <= max_failures for count in counts):
        return True
    await forget(cassandra, attempt)  # refusals do not extend the window
    return False


async def forget(cassandra: Cassandra, attempt: Attempt) -> None:
    """Uncounts the attempt (it succeeded, or it was refused before checking the password)."""
    await asyncio.gather(
        *(
            cassandra.execute(
                "DELETE FROM login_failures WHERE scope = ? AND subject = ? AND attempt = ?",
                (scope, subject, attempt.attempt_id),
            )
            for scope, subject in attempt.scopes()
        )
    )
