"""Failed-login counting per account and per client address (Cassandra `login_failures`).

Each failure is one row of a rolling window (db/rolling_window.py): an attempt is counted as a
failure up front (`begin`, race-free against parallel guesses) and uncounted when it succeeds
(`forget`); attempts refused by the limit write nothing.

Attempts refused by the limit are audited (login_logs) only up to login_max_failures per window
and e-mail (`audit_refusal`, scope `refused`): an account under attack shows it, and a flood of
refused attempts cannot grow its month partition without bound.

The account scope is keyed by the lower-cased e-mail given (known or not), so limits do not
reveal whether an account exists.

Requests without a client address (no TCP peer reported by the server, e.g. behind a Unix
socket without SIGMA_TRUSTED_PROXY_HEADER) all share the one address `UNKNOWN_ADDRESS`. This is
deliberate: failing closed keeps password guessing limited even when the deployment hides the
clients, at the price that such clients limit each other. Logins then warn once per process
(resolvers/auth.py) so the misconfiguration is visible.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from db import rolling_window
from db.drivers.cassandra import Cassandra

ACCOUNT = "account"
ADDRESS = "address"
REFUSED = "refused"
TABLE = "login_failures"
# The address key shared by every request whose client address is unknown (see above).
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class Attempt:
    email_lower: str
    address: str
    attempt_id: uuid.UUID = field(default_factory=rolling_window.new_event_id)

    @classmethod
    def of(cls, email_lower: str, client_address: str | None) -> Attempt:
        return cls(email_lower=email_lower, address=client_address or UNKNOWN_ADDRESS)

    def scopes(self) -> list[rolling_window.Key]:
        return [(ACCOUNT, self.email_lower), (ADDRESS, self.address)]


def _window(cassandra: Cassandra) -> rolling_window.Window:
    settings = cassandra.settings
    return rolling_window.Window(TABLE, settings.login_window_s, settings.login_max_failures)


async def begin(cassandra: Cassandra, attempt: Attempt) -> bool:
    """Counts this attempt as a failure up front; False (and uncounted) when over the limit."""
    return await rolling_window.take(
        cassandra, _window(cassandra), attempt.scopes(), attempt.attempt_id
    )


async def forget(cassandra: Cassandra, attempt: Attempt) -> None:
    """Uncounts the attempt (it succeeded)."""
    await rolling_window.release(
        cassandra, _window(cassandra), attempt.scopes(), attempt.attempt_id
    )


async def audit_refusal(cassandra: Cassandra, attempt: Attempt) -> bool:
    """Whether a refused attempt is still written to the audit trail (see above). Keyed by the
    e-mail given, known or not, so the extra work does not tell whether an account exists."""
    return await rolling_window.take(
        cassandra, _window(cassandra), [(REFUSED, attempt.email_lower)], attempt.attempt_id
    )
