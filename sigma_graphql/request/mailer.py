"""Outgoing mail over SMTP (settings.smtp_host/smtp_port).

smtplib is blocking, so every send runs in the default thread executor: the event loop keeps
serving other requests while a slow mail server answers. Mails that need no answer for the
client (links) can be sent in the background with `send_later`; failures are logged, never
shown to the client (that would tell whether an account exists).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Coroutine
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from sigma_graphql.core.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 10.0

# Background tasks are referenced until done so they are not garbage-collected mid-flight.
_pending: set[asyncio.Task[Any]] = set()


def link(settings: Settings, path: str, token: str) -> str:
    """An absolute link into the front end, e.g. {base}/verify-email?token=..."""
    return f"{settings.public_base_url.rstrip('/')}/{path.lstrip('/')}?token={quote(token)}"


def _send_sync(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
        smtp.send_message(message)


async def send(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Sends one plain-text mail; False (and a log line) if the server refused or is down."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, _send_sync, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail %r could not be sent: %s", subject, exc)
        return False
    return True


def send_later(work: Coroutine[Any, Any, Any]) -> None:
    """Runs `work` (lookups + mail) after the response; its errors are logged, not raised."""

    async def guarded() -> None:
        try:
            await work
        except Exception:
            log.exception("background mail job failed")

    task = asyncio.get_running_loop().create_task(guarded())
    _pending.add(task)
    task.add_done_callback(_pending.discard)
