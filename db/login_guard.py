"""Failed-login counting per account and per client address (Cassandra `login_failures`).

Each failure is one row written `USING TTL <window>`: the count of live rows is the number of
failures in the rolling window, and the window expires by itself (counters cannot carry a TTL).
Reads stop at the limit (`LIMIT max_failures`), so a partition under attack is never read whole.
The account scope is keyed by the lower-cased e-mail given (known or not), so limits do not
reveal whether an account exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from db.cassandra import Cassandra

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True)
class Subjects:
    email_lower: str
    address: str

    def scopes(self) -> list[tuple[str, str]]:
        return [(ACCOUNT, self.email_lower), (ADDRESS, self.address)]


async def _failures(cassandra: Cassandra, scope: str, subject: str, limit: int) -> int:
    rows = await cassandra.execute(
        "SELECT attempt FROM login_failures WHERE scope = ? AND subject = ? LIMIT ?",
        (scope, subject, limit),
    )
    return len(rows)


async def is_limited(cassandra: Cassandra, subjects: Subjects) -> bool:
    """True when the account or the address has used up its failures in the window."""
    limit = cassandra.settings.login_max_failures
    counts = await asyncio.gather(
        *(_failures(cassandra, scope, subject, limit) for scope, subject in subjects.scopes())
    )
    return any(count >= limit for count in counts)


async def record_failure(cassandra: Cassandra, subjects: Subjects) -> None:
    window = cassandra.settings.login_window_s
    await asyncio.gather(
        *(
            cassandra.execute(
                "INSERT INTO login_failures (scope, subject, attempt) VALUES (?, ?, now()) "
                "USING TTL ?",
                (scope, subject, window),
            )
            for scope, subject in subjects.scopes()
        )
    )
