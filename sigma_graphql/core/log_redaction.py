"""Keeps password hashes out of log lines.

pymongo's DEBUG command log prints whole documents (inserted users, login lookups), hashes
included. A filter on that logger rewrites the message with every argon2 hash replaced, so
turning on debug logging in production never leaks one. Our own code never logs documents.
"""

from __future__ import annotations

import logging
import re

_ARGON2 = re.compile(r"\$argon2[A-Za-z0-9+/=$,]*")
REDACTED = "[password hash redacted]"
# Loggers that may print database documents.
DOCUMENT_LOGGERS = ("pymongo.command",)


class RedactPasswordHashes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "$argon2" in message:
            record.msg = _ARGON2.sub(REDACTED, message)
            record.args = ()
        return True


def install() -> None:
    """Idempotent: adds the filter once to each document-printing logger."""
    for name in DOCUMENT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactPasswordHashes) for f in logger.filters):
            logger.addFilter(RedactPasswordHashes())
