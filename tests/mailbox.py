"""A real SMTP server on loopback (aiosmtpd) that keeps the messages it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


@dataclass
class Mail:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s\"'<>]+", self.body)


class Mailbox:
    def __init__(self) -> None:
        self.port = 0
        self.messages: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(Mail(list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.messages if address.lower() in (a.lower() for a in m.to)]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Mail]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.to(address)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no mail #{count} for {address}; got {len(self.to(address))}")
            await asyncio.sleep(0.05)
        return self.to(address)
