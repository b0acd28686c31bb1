"""Helpers of the fault tests (issue #12): timed GraphQL calls and waiting for recovery."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

MONGO_QUERY = "{ umkms(first: 1) { edges { node { id } } } }"  # PUBLIC, MongoDB only
CASSANDRA_QUERY = "{ sectorStats(tahun: 2025) { sektor totalOmzet } }"  # PUBLIC, Cassandra only


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.body.get("errors")

    @property
    def codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code")) for e in self.body.get("errors", [])]

    @property
    def first_error(self) -> dict[str, Any]:
        errors: list[dict[str, Any]] = self.body["errors"]
        return errors[0]

    def round_trips(self, database: str) -> int:
        trips = (self.body.get("extensions") or {}).get("dbRoundTrips") or {}
        return int(trips.get(database, 0))


async def ask(
    http: httpx.AsyncClient, query: str, token: str | None = None, timeout: float = 60
) -> Answer:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    resp = await http.post("/graphql", json={"query": query}, headers=headers, timeout=timeout)
    return Answer(resp.status_code, resp.json(), time.monotonic() - started)


async def seconds_until_ok(
    http: httpx.AsyncClient, query: str, token: str | None = None, limit_s: float = 120
) -> float:
    """Seconds from now until `query` answers without errors (asked every 0.1 s)."""
    started = time.monotonic()
    while True:
        try:
            answer = await ask(http, query, token, timeout=limit_s)
            if answer.ok:
                return time.monotonic() - started
            last: object = answer.body
        except httpx.HTTPError as exc:
            last = exc
        if time.monotonic() - started > limit_s:
            raise AssertionError(f"no answer within {limit_s} s; last: {last}")
        await asyncio.sleep(0.1)
