"""Per-recipient throttle for link mails (Cassandra `mail_sends`).

requestPasswordReset and resendVerificationEmail answer ok to anyone for any address, so
without a limit anyone could flood an inbox. At most `mail_max_per_window` of these mails go to
one address in a rolling `mail_window_s` window (db/rolling_window.py); further requests still
answer ok and just send nothing.

The throttle counts requests per address given (lower-cased), whether an account exists or
not: it therefore runs before the response without telling anything about accounts, and a
refused request writes nothing.
"""

from __future__ import annotations

from db import rolling_window
from db.drivers.cassandra import Cassandra

TABLE = "mail_sends"
RECIPIENT = "recipient"


async def allow(cassandra: Cassandra, email_lower: str) -> bool:
    """True if a link mail to this address may go out now (and counts it)."""
    settings = cassandra.settings
    window = rolling_window.Window(TABLE, settings.mail_window_s, settings.mail_max_per_window)
    return await rolling_window.take(
        cassandra, window, [(RECIPIENT, email_lower)], rolling_window.new_event_id()
    )
