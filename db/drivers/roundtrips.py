"""Counts database round trips per request by instrumenting both drivers.

A ContextVar holds the counter of the request being served; the Mongo command listener and the
Cassandra adapter add to it. Tests assert on these counts instead of timings.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass
class RoundTrips:
    mongo: int = 0
    cassandra: int = 0

    @property
    def total(self) -> int:
        return self.mongo + self.cassandra

    def as_dict(self) -> dict[str, int]:
        return {"mongo": self.mongo, "cassandra": self.cassandra, "total": self.total}


_current: ContextVar[RoundTrips | None] = ContextVar("sigma_round_trips", default=None)


def start() -> tuple[RoundTrips, Token[RoundTrips | None]]:
    counter = RoundTrips()
    return counter, _current.set(counter)


def stop(token: Token[RoundTrips | None]) -> None:
    _current.reset(token)


def current() -> RoundTrips | None:
    return _current.get()


def count_mongo() -> None:
    counter = _current.get()
    if counter is not None:
        counter.mongo += 1


def count_cassandra() -> None:
    counter = _current.get()
    if counter is not None:
        counter.cassandra += 1
